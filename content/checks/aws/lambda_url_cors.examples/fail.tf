resource "aws_lambda_function_url" "hook" {
  function_name      = "hook"
  authorization_type = "NONE"

  cors {
    allow_credentials = true
    allow_origins     = ["*"]
    allow_methods     = ["*"]
  }
}
