resource "aws_api_gateway_stage" "s" {
  rest_api_id   = "a1b2c3d4e5"
  deployment_id = "dep123"
  stage_name    = "prod"
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    format          = "$context.requestId $context.identity.sourceIp $context.status"
  }
}
resource "aws_cloudwatch_log_group" "api" {
  name = "api-access"
}
