# The bucket is managed elsewhere: its policy is still checked.
resource "aws_s3_bucket_policy" "b" {
  bucket = "acme-downloads"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "arn:aws:s3:::acme-downloads/*" }]
  })
}
