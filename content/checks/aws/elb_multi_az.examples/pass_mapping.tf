resource "aws_lb" "edge" {
  name               = "edge"
  load_balancer_type = "network"

  subnet_mapping {
    subnet_id     = "subnet-0a1b2c3d"
    allocation_id = "eipalloc-0a1b2c3d"
  }
  subnet_mapping {
    subnet_id     = "subnet-4e5f6a7b"
    allocation_id = "eipalloc-4e5f6a7b"
  }
}
