resource "aws_iam_account_password_policy" "p" {
  minimum_password_length = 14
}
