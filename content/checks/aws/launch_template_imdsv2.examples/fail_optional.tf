resource "aws_launch_template" "t" {
  name          = "web"
  image_id      = "ami-0a1b2c3d4e5f67890"
  instance_type = "t3.micro"
  metadata_options {
    http_tokens = "optional"
  }
}
