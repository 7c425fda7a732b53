resource "aws_iam_user" "u" {
  name = "alice"
}
resource "aws_iam_user_policy_attachment" "a" {
  user       = aws_iam_user.u.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}
