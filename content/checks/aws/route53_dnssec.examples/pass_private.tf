resource "aws_route53_zone" "z" {
  name = "internal.example.com"
  vpc {
    vpc_id = "vpc-0a1b2c3d"
  }
}
