resource "aws_ecr_repository" "r" {
  name = "orders"
}

resource "aws_ecr_repository_policy" "p" {
  repository = aws_ecr_repository.r.name
  policy     = <<EOF
{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}
EOF
}
