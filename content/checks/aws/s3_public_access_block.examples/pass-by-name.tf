# The block names the bucket by its literal name.
resource "aws_s3_bucket" "b" {
  bucket = "acme-shared"
}

resource "aws_s3_bucket_public_access_block" "b" {
  bucket                  = "acme-shared"
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
