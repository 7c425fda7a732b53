resource "aws_apigatewayv2_stage" "s" {
  api_id = "a1b2c3d4e5"
  name   = "prod"
  access_log_settings {
    destination_arn = "arn:aws:logs:us-east-1:111122223333:log-group:api"
    format          = "$context.requestId $context.identity.sourceIp"
  }
}
