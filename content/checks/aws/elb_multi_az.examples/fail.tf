resource "aws_lb" "web" {
  name    = "web"
  subnets = ["subnet-0a1b2c3d"]
}
