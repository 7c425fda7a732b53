resource "aws_iam_server_certificate" "web" {
  name             = "web"
  certificate_body = file("web.crt")
  private_key      = file("web.key")
}
