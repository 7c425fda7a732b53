resource "aws_lambda_function" "orders" {
  function_name = "orders"
  role          = "arn:aws:iam::111122223333:role/orders"
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "app.zip"

  vpc_config {
    subnet_ids         = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
    security_group_ids = ["sg-0a1b2c3d"]
  }
}
