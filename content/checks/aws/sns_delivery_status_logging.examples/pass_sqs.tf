resource "aws_sns_topic" "t" {
  name                          = "alerts"
  sqs_failure_feedback_role_arn = "arn:aws:iam::111122223333:role/sns-feedback"
}
