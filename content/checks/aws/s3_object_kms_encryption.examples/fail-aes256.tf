resource "aws_s3_bucket_object" "settings" {
  bucket                 = "acme-config"
  key                    = "settings.json"
  content                = "{}"
  server_side_encryption = "AES256"
}
