resource "aws_cloud9_environment_ec2" "dev" {
  name          = "dev"
  instance_type = "t3.small"
  image_id      = "amazonlinux-2023-x86_64"
  subnet_id     = "subnet-0example"
  connection_type = "CONNECT_SSM"
}
