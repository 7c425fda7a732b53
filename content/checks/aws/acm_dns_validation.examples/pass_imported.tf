resource "aws_acm_certificate" "c" {
  private_key      = file("key.pem")
  certificate_body = file("cert.pem")
}
