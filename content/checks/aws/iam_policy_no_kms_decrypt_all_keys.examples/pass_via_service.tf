resource "aws_iam_policy" "p" {
  name   = "app"
  policy = <<EOT
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}}}]}
EOT
}
