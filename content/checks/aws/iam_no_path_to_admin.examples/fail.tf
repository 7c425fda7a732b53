# ci may write new versions of any managed policy, among them the one
# attached to it: one step to administrator.
resource "aws_iam_user" "ci" {
  name = "ci"
}

resource "aws_iam_policy" "ci" {
  name = "ci-deploy"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["iam:CreatePolicyVersion", "s3:PutObject"], Resource = "*" }]
  })
}

resource "aws_iam_user_policy_attachment" "ci" {
  user       = aws_iam_user.ci.name
  policy_arn = aws_iam_policy.ci.arn
}
