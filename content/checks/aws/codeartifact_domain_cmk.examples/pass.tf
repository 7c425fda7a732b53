resource "aws_codeartifact_domain" "d" {
  domain = "example"
  encryption_key = aws_kms_key.artifacts.arn
}
