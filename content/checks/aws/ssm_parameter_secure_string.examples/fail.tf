resource "aws_ssm_parameter" "p" {
  name  = "/app/db/password"
  type  = "String"
  value = "hunter2"
}
