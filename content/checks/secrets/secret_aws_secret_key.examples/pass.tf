resource "aws_ssm_parameter" "ci" {
  name  = "/ci/aws_secret_access_key"
  type  = "SecureString"
  value = var.ci_secret_key
}
