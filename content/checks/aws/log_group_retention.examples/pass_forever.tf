resource "aws_cloudwatch_log_group" "g" {
  name = "/app/orders"
}
