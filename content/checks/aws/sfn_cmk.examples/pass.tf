resource "aws_sfn_state_machine" "m" {
  name     = "orders"
  role_arn = "arn:aws:iam::111122223333:role/sfn"
  definition = jsonencode({
    StartAt = "Done"
    States  = { Done = { Type = "Pass", End = true } }
  })

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.sfn.arn
    kms_data_key_reuse_period_seconds = 300
  }
}
