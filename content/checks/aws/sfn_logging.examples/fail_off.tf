resource "aws_sfn_state_machine" "m" {
  name     = "orders"
  role_arn = "arn:aws:iam::111122223333:role/sfn"
  definition = jsonencode({
    StartAt = "Done"
    States  = { Done = { Type = "Pass", End = true } }
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = true
    level                  = "OFF"
  }
}
