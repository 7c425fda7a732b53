resource "aws_iam_user" "u" {
  name = "alice"
}

resource "aws_iam_user" "v" {
  name = "bob"
}

resource "aws_iam_policy_attachment" "a" {
  name       = "readers"
  users      = [aws_iam_user.u.name, "bob"]
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}
