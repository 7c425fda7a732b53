resource "aws_lambda_permission" "p" {
  statement_id  = "AllowInvoke"
  action        = "lambda:InvokeFunction"
  function_name = "orders"
  principal     = "s3.amazonaws.com"
  source_arn    = "arn:aws:s3:::uploads"
}
