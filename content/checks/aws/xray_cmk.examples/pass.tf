resource "aws_xray_encryption_config" "x" {
  type   = "KMS"
  key_id = aws_kms_key.xray.arn
}
