resource "aws_route53_zone" "z" {
  name = "example.com"
  vpc {
    vpc_id = "vpc-0a1b2c3d"
  }
}
