resource "aws_api_gateway_stage" "s" {
  rest_api_id   = "a1b2c3d4e5"
  deployment_id = "dep123"
  stage_name    = "prod"
}

resource "aws_wafv2_web_acl_association" "a" {
  resource_arn = aws_api_gateway_stage.s.arn
  web_acl_arn  = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/edge/a1b2"
}
