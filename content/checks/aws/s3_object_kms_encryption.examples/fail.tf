resource "aws_s3_bucket" "b" {
  bucket = "acme-config"
}

resource "aws_s3_object" "settings" {
  bucket  = aws_s3_bucket.b.id
  key     = "settings.json"
  content = "{}"
}
