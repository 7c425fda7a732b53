resource "aws_secretsmanager_secret" "s" {
  name = "prod/db"
  policy = <<POLICY
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}
POLICY
}
