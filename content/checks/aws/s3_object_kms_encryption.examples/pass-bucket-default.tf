# The object takes its bucket's default encryption.
resource "aws_s3_bucket" "b" {
  bucket = "acme-config"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
  bucket = aws_s3_bucket.b.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_object" "settings" {
  bucket  = aws_s3_bucket.b.id
  key     = "settings.json"
  content = "{}"
}
