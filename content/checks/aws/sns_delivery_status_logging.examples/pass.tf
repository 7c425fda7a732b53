resource "aws_sns_topic" "t" {
  name                             = "alerts"
  lambda_success_feedback_role_arn = "arn:aws:iam::111122223333:role/sns-feedback"
  lambda_failure_feedback_role_arn = "arn:aws:iam::111122223333:role/sns-feedback"
}
