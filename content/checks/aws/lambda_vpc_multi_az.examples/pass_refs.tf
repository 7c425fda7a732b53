resource "aws_subnet" "a" {
  vpc_id     = "vpc-0a1b2c3d"
  cidr_block = "10.0.1.0/24"
}

resource "aws_subnet" "b" {
  vpc_id     = "vpc-0a1b2c3d"
  cidr_block = "10.0.2.0/24"
}

resource "aws_lambda_function" "orders" {
  function_name = "orders"
  role          = "arn:aws:iam::111122223333:role/orders"
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "app.zip"

  vpc_config {
    subnet_ids         = [aws_subnet.a.id, aws_subnet.b.id]
    security_group_ids = ["sg-0a1b2c3d"]
  }
}
