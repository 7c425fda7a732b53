resource "aws_apigatewayv2_stage" "s" {
  api_id = "a1b2c3d4e5"
  name   = "prod"
}
