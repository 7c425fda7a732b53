resource "aws_appsync_graphql_api" "api" {
  name                = "orders"
  authentication_type = "AMAZON_COGNITO_USER_POOLS"

  log_config {
    cloudwatch_logs_role_arn = "arn:aws:iam::111122223333:role/appsync-logs"
    field_log_level          = "ERROR"
  }

  user_pool_config {
    default_action = "ALLOW"
    user_pool_id   = "us-east-1_Example"
  }

  additional_authentication_provider {
    authentication_type = "AWS_IAM"
  }

  additional_authentication_provider {
    authentication_type = "API_KEY"
  }
}
