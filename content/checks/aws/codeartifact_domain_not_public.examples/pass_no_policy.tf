resource "aws_codeartifact_domain" "d" {
  domain = "example"
}
