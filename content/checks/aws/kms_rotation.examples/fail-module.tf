module "key" {
  source              = "terraform-aws-modules/kms/aws"
  description         = "orders"
  enable_key_rotation = false
}
