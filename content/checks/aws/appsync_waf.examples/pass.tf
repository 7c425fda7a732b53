resource "aws_appsync_graphql_api" "api" {
  name                = "orders"
  authentication_type = "AWS_IAM"

  log_config {
    cloudwatch_logs_role_arn = "arn:aws:iam::111122223333:role/appsync-logs"
    field_log_level          = "ERROR"
  }
}

resource "aws_wafv2_web_acl_association" "api" {
  resource_arn = aws_appsync_graphql_api.api.arn
  web_acl_arn  = aws_wafv2_web_acl.api.arn
}
