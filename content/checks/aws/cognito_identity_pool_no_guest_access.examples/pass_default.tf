resource "aws_cognito_identity_pool" "i" {
  identity_pool_name = "app"
}
