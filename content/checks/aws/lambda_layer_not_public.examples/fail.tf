resource "aws_lambda_layer_version_permission" "shared" {
  layer_name     = "arn:aws:lambda:us-east-1:111122223333:layer:common"
  version_number = 3
  statement_id   = "public-read"
  action         = "lambda:GetLayerVersion"
  principal      = "*"
}
