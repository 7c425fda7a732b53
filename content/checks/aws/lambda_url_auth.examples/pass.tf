resource "aws_lambda_function_url" "u" {
  function_name      = "orders"
  authorization_type = "AWS_IAM"
}
