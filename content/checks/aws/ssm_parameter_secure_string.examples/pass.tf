resource "aws_ssm_parameter" "p" {
  name  = "/app/db/password"
  type  = "SecureString"
  value = var.db_password
}

resource "aws_ssm_parameter" "arn" {
  name  = "/app/db/password_secret_arn"
  type  = "String"
  value = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"
}
