resource "aws_api_gateway_stage" "s" {
  rest_api_id   = "a1b2c3d4e5"
  deployment_id = "dep123"
  stage_name    = "prod"
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = "a1b2c3d4e5"
  stage_name  = aws_api_gateway_stage.s.stage_name
  method_path = "*/*"
  settings {
    logging_level = "OFF"
  }
}
