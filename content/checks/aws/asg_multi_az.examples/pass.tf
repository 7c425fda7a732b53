resource "aws_launch_template" "app" {
  name          = "app"
  image_id      = "ami-0a1b2c3d4e5f60718"
  instance_type = "t3.micro"
}

resource "aws_autoscaling_group" "app" {
  name     = "app"
  min_size = 2
  max_size = 4
  vpc_zone_identifier = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]

  launch_template {
    id      = aws_launch_template.app.id
    version = "$Latest"
  }
}
