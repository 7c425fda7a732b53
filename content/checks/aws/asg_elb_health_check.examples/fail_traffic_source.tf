resource "aws_autoscaling_group" "app" {
  name                = "app"
  min_size            = 2
  max_size            = 4
  vpc_zone_identifier = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]

  launch_template {
    id      = "lt-0a1b2c3d4e5f60718"
    version = "$Latest"
  }

  traffic_source {
    identifier = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/app/0a1b2c3d4e5f6a7b"
    type       = "elbv2"
  }
}
