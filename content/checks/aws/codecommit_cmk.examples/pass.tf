resource "aws_codecommit_repository" "r" {
  repository_name = "app"
  kms_key_id      = aws_kms_key.code.arn
}
