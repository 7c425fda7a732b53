resource "aws_acm_certificate" "c" {
  domain_name       = "www.example.com"
  validation_method = "DNS"
}
