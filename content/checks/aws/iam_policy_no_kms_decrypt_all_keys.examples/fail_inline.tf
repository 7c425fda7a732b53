resource "aws_iam_role_policy" "p" {
  name   = "app"
  role   = "app"
  policy = <<EOT
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ReEncrypt*","Resource":"arn:aws:kms:*:111122223333:key/*"}]}
EOT
}
