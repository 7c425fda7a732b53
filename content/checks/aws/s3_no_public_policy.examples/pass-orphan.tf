resource "aws_s3_bucket_policy" "b" {
  bucket = "acme-downloads"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:root" }, Action = "s3:GetObject", Resource = "arn:aws:s3:::acme-downloads/*" }]
  })
}
