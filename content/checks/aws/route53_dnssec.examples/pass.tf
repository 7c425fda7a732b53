resource "aws_route53_zone" "z" {
  name = "example.com"
}

resource "aws_route53_key_signing_key" "k" {
  hosted_zone_id             = aws_route53_zone.z.id
  key_management_service_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  name                       = "example"
}

resource "aws_route53_hosted_zone_dnssec" "d" {
  hosted_zone_id = aws_route53_key_signing_key.k.hosted_zone_id
}
