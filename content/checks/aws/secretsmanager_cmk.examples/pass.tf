resource "aws_secretsmanager_secret" "s" {
  name = "prod/db"
  kms_key_id = aws_kms_key.k.arn
}

resource "aws_kms_key" "k" {
  enable_key_rotation = true
}
