resource "aws_lambda_function" "f" {
  function_name = "orders"
  role          = "arn:aws:iam::111122223333:role/orders"
  handler       = "app.handler"
  runtime       = "nodejs16.x"
  filename      = "app.zip"
}
