resource "aws_iam_user" "u" {
  name = "ci"
}
resource "aws_iam_access_key" "k1" {
  user = aws_iam_user.u.name
}
resource "aws_iam_access_key" "k2" {
  user = aws_iam_user.u.name
}
