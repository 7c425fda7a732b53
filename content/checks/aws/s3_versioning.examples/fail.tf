resource "aws_s3_bucket" "b" {
  bucket = "acme-nov"
}
resource "aws_s3_bucket_versioning" "b" {
  bucket = aws_s3_bucket.b.id
  versioning_configuration {
    status = "Suspended"
  }
}
