resource "aws_kms_key" "k" {
  description         = "data"
  enable_key_rotation = true
}
