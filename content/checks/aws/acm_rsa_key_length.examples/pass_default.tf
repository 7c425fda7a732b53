resource "aws_acm_certificate" "c" {
  domain_name       = "shop.example.com"
  validation_method = "DNS"
}
