resource "aws_iam_user" "u" {
  name = "alice"
}

resource "aws_iam_group" "g" {
  name = "readers"
}

resource "aws_iam_policy_attachment" "a" {
  name       = "readers"
  groups     = [aws_iam_group.g.name]
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}
