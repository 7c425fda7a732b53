resource "aws_cloudwatch_log_group" "g" {
  name = "/app/orders"
  retention_in_days = 30
}
