resource "aws_lambda_permission" "p" {
  statement_id  = "AllowInvoke"
  action        = "lambda:InvokeFunction"
  function_name = "orders"
  principal     = "*"
  source_account = "111122223333"
}
