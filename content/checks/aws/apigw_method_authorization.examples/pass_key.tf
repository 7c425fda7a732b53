resource "aws_api_gateway_method" "m" {
  rest_api_id   = "a1b2c3d4e5"
  resource_id   = "r1"
  http_method   = "GET"
  authorization = "NONE"
  api_key_required = true
}
