resource "aws_cognito_user_pool" "p" {
  name = "customers"
  user_pool_add_ons {
    advanced_security_mode = "AUDIT"
  }
}
