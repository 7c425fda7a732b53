# The bucket is managed elsewhere: its public access block is still checked.
resource "aws_s3_bucket_public_access_block" "b" {
  bucket                  = "acme-shared"
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = false
}
