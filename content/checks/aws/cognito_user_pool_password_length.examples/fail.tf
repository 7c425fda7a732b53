resource "aws_cognito_user_pool" "p" {
  name = "customers"
  password_policy {
    minimum_length = 8
  }
}
