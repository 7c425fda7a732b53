resource "aws_sqs_queue" "q" {
  name = "orders"
  policy = <<POLICY
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}
POLICY
}
