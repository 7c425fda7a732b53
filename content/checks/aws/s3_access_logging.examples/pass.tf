# parapet:ignore PARAPET-S3-006 the log bucket does not log to itself
resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}
resource "aws_s3_bucket" "b" {
  bucket = "acme-logged"
}
resource "aws_s3_bucket_logging" "b" {
  bucket        = aws_s3_bucket.b.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "b/"
}
