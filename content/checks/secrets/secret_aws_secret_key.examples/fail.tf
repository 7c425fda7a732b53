resource "aws_ssm_parameter" "ci" {
  name  = "/ci/aws_secret_access_key"
  type  = "String"
  value = "2hpChYgCfrL1spNxnyVmihA+2O76UMFxFkM+R5Kj"
}
