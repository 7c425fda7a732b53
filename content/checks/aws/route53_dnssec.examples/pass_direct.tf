resource "aws_route53_zone" "z" {
  name = "example.com"
}

resource "aws_route53_hosted_zone_dnssec" "d" {
  hosted_zone_id = aws_route53_zone.z.id
}
