resource "aws_sns_topic" "t" {
  name              = "alerts"
  kms_master_key_id = "alias/aws/sns"
}
