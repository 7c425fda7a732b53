resource "aws_cognito_user_pool_client" "c" {
  name         = "web"
  user_pool_id = "us-east-1_AbCdEfGhI"
  enable_token_revocation = false
}
