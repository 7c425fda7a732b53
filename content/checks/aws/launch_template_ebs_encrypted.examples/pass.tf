resource "aws_launch_template" "app" {
  name          = "app"
  image_id      = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.micro"

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 30
      encrypted   = true
    }
  }
  block_device_mappings {
    device_name  = "/dev/sdb"
    virtual_name = "ephemeral0"
  }
}
