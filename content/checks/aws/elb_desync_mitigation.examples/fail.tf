resource "aws_lb" "web" {
  name               = "web"
  load_balancer_type = "application"
  subnets            = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
  desync_mitigation_mode = "monitor"
}
