resource "aws_lambda_code_signing_config" "trusted" {
  allowed_publishers {
    signing_profile_version_arns = ["arn:aws:signer:us-east-1:111122223333:/signing-profiles/release/abc123"]
  }
  policies {
    untrusted_artifact_on_deployment = "Enforce"
  }
}

resource "aws_lambda_function" "orders" {
  function_name = "orders"
  role          = "arn:aws:iam::111122223333:role/orders"
  handler       = "app.handler"
  runtime       = "python3.12"
  filename      = "app.zip"
  code_signing_config_arn = aws_lambda_code_signing_config.trusted.arn
}
