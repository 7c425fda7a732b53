resource "aws_lambda_function" "f" {
  function_name = "orders"
  role          = "arn:aws:iam::111122223333:role/orders"
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "app.zip"
  reserved_concurrent_executions = -1
}
