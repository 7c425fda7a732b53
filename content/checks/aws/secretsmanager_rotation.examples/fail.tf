resource "aws_secretsmanager_secret" "s" {
  name = "prod/db"
}
