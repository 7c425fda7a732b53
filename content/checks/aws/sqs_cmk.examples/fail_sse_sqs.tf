resource "aws_sqs_queue" "q" {
  name                    = "orders"
  sqs_managed_sse_enabled = true
}
