resource "aws_launch_configuration" "app" {
  name          = "app"
  image_id      = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.micro"

  root_block_device {
    volume_size = 30
    encrypted   = true
  }
  ebs_block_device {
    device_name = "/dev/sdb"
    volume_size = 100
  }
}
