resource "aws_secretsmanager_secret" "s" {
  name = "db-password"
}

resource "aws_secretsmanager_secret_rotation" "r" {
  secret_id           = aws_secretsmanager_secret.s.id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:111122223333:function:rotate"
  rotation_rules {
    automatically_after_days = 30
  }
}
