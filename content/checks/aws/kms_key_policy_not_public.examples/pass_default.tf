resource "aws_kms_key" "k" {
  description         = "app"
  enable_key_rotation = true
}
