resource "aws_iam_account_password_policy" "p" {
  minimum_password_length   = 16
  password_reuse_prevention = 24
}
