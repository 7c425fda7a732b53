resource "aws_lambda_function_url" "hook" {
  function_name      = "hook"
  authorization_type = "AWS_IAM"
}
