resource "aws_iam_server_certificate" "web" {
  name             = "web"
  certificate_body = file("web.crt")
  private_key      = "-----BEGIN PRIVATE KEY-----\nMIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAKci3arCk3Bjh0Vm\nlB48l79TxyGNLxNlO+noRp/i955sC+skNRlv/hXjjiGMJ1bWGMc04GDDMtJ31RrH\n-----END PRIVATE KEY-----\n"
}
