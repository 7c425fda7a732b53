resource "aws_route53domains_registered_domain" "d" {
  domain_name = "example.com"
}
