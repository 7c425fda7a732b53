resource "aws_iam_user_policy" "p" {
  name   = "ops"
  user   = "ops"
  policy = <<EOF2
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "s3:GetObject"], "Resource": "*"}]}
EOF2
}
