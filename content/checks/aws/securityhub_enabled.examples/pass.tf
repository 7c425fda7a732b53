resource "aws_securityhub_account" "h" {}
