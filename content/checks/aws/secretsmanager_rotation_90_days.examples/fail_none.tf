resource "aws_secretsmanager_secret" "s" {
  name = "db-password"
}
