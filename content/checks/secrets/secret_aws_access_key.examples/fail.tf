resource "aws_lambda_function" "app" {
  function_name = "app"
  role          = "arn:aws:iam::123456789012:role/app"
  environment {
    variables = {
      AWS_ACCESS_KEY_ID     = "AKIAUJZDEGXDNCF32EPF"
      AWS_SECRET_ACCESS_KEY = "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"
    }
  }
}
