resource "aws_ssm_parameter" "p" {
  name  = "/app/log_level"
  type  = "String"
  value = "info"
}
