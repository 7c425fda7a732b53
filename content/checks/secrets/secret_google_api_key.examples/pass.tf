resource "aws_lambda_function" "maps" {
  function_name = "maps"
  role          = "arn:aws:iam::123456789012:role/maps"
  environment {
    variables = {
      MAPS_KEY = "<your-google-api-key>"
    }
  }
}
