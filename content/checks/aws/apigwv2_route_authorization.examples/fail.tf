resource "aws_apigatewayv2_api" "api" {
  name          = "orders"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_route" "orders" {
  api_id    = aws_apigatewayv2_api.api.id
  route_key = "GET /orders"
  target    = "integrations/abc123"
}
