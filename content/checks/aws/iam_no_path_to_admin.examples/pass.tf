# ci may only put objects: no way to more privilege.
resource "aws_iam_user" "ci" {
  name = "ci"
}

resource "aws_iam_policy" "ci" {
  name = "ci-deploy"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:PutObject"], Resource = "*" }]
  })
}

resource "aws_iam_user_policy_attachment" "ci" {
  user       = aws_iam_user.ci.name
  policy_arn = aws_iam_policy.ci.arn
}
