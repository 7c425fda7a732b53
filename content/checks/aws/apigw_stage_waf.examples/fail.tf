resource "aws_api_gateway_stage" "s" {
  rest_api_id   = "a1b2c3d4e5"
  deployment_id = "dep123"
  stage_name    = "prod"
}
