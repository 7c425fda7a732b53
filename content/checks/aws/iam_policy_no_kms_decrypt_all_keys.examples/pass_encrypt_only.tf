resource "aws_iam_policy" "p" {
  name   = "app"
  policy = <<EOT
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:GenerateDataKey"],"Resource":"*"}]}
EOT
}
