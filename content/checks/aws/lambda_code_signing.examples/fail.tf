resource "aws_lambda_function" "orders" {
  function_name = "orders"
  role          = "arn:aws:iam::111122223333:role/orders"
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "app.zip"
}
