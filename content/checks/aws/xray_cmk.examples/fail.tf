resource "aws_xray_encryption_config" "x" {
  type   = "NONE"
}
