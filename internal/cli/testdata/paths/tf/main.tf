resource "aws_iam_user" "ci" {
  name = "ci-deployer"
}

resource "aws_iam_user_policy" "deploy" {
  name = "deploy"
  user = aws_iam_user.ci.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:PutObject"], Resource = "arn:aws:s3:::artifacts/*" },
      { Effect = "Allow", Action = "iam:PassRole", Resource = "arn:aws:iam::111122223333:role/ops-admin" },
      { Effect = "Allow", Action = ["lambda:CreateFunction", "lambda:InvokeFunction"], Resource = "*" },
    ]
  })
}

resource "aws_iam_role" "ops" {
  name = "ops-admin"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "ops" {
  role       = aws_iam_role.ops.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

# A second step: support may create an access key for ci-deployer.
resource "aws_iam_user" "support" {
  name = "support"
}

resource "aws_iam_user_policy" "support" {
  name = "helpdesk"
  user = aws_iam_user.support.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "Keys", Effect = "Allow", Action = "iam:CreateAccessKey", Resource = "arn:aws:iam::111122223333:user/ci-deployer" }]
  })
}
