resource "aws_s3_bucket" "b" {
  bucket              = "b"
  object_lock_enabled = true
}
