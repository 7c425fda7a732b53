resource "aws_iam_user" "u" {
  name = "alice"
}

resource "aws_iam_user_policy" "p" {
  name = "read"
  user = aws_iam_user.u.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}
