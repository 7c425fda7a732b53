resource "aws_lambda_function_url" "hook" {
  function_name      = "hook"
  authorization_type = "AWS_IAM"

  cors {
    allow_origins = ["https://app.example.com"]
    allow_methods = ["POST"]
  }
}
