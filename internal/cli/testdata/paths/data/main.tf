# paths --to payroll: analyst reads it (1 step); batch becomes etl, which
# the bucket policy lets write (2 steps); intern's s3:* is cut by the
# bucket policy's explicit Deny.
resource "aws_s3_bucket" "payroll" {
  bucket = "payroll"
}

resource "aws_s3_bucket_policy" "payroll" {
  bucket = aws_s3_bucket.payroll.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "EtlWrites", Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:role/etl" }, Action = ["s3:GetObject", "s3:PutObject"], Resource = "arn:aws:s3:::payroll/*" },
      { Sid = "NoInterns", Effect = "Deny", Principal = { AWS = "arn:aws:iam::111122223333:user/intern" }, Action = "s3:*", Resource = ["arn:aws:s3:::payroll", "arn:aws:s3:::payroll/*"] },
    ]
  })
}

resource "aws_iam_user" "analyst" {
  name = "analyst"
}

resource "aws_iam_user_policy" "analyst" {
  name = "reports"
  user = aws_iam_user.analyst.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::payroll/*" }]
  })
}

resource "aws_iam_user" "batch" {
  name = "batch"
}

resource "aws_iam_user_policy" "batch" {
  name = "become-etl"
  user = aws_iam_user.batch.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Resource = "arn:aws:iam::111122223333:role/etl" }]
  })
}

resource "aws_iam_role" "etl" {
  name = "etl"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:user/batch" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_user" "intern" {
  name = "intern"
}

resource "aws_iam_user_policy" "intern" {
  name = "everything-s3"
  user = aws_iam_user.intern.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }]
  })
}
