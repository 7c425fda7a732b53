resource "aws_ssm_parameter" "p" {
  name  = "/app/password_policy"
  type  = "String"
  value = "min=14"
}

resource "aws_ssm_parameter" "q" {
  name  = "/app/token-rotation"
  type  = "String"
  value = "30d"
}
