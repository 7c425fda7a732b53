resource "aws_sqs_queue" "q" {
  name              = "orders"
  kms_master_key_id = "alias/aws/sqs"
}
