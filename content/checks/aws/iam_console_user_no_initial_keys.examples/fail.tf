resource "aws_iam_user" "u" {
  name = "alice"
}
resource "aws_iam_user_login_profile" "p" {
  user = aws_iam_user.u.name
}
resource "aws_iam_access_key" "k" {
  user = aws_iam_user.u.name
}
