resource "aws_iam_user" "u" {
  name = "ci"
}
resource "aws_iam_access_key" "k" {
  user = aws_iam_user.u.name
}
