resource "aws_kms_key" "k" {
  description         = "config"
  enable_key_rotation = true
}

resource "aws_s3_object" "settings" {
  bucket     = "acme-config"
  key        = "settings.json"
  content    = "{}"
  kms_key_id = aws_kms_key.k.arn
}
