resource "aws_default_security_group" "d" {
  vpc_id = "vpc-1"
}
