resource "aws_cloudwatch_event_bus_policy" "p" {
  event_bus_name = "orders"
  policy         = <<EOT
{"Version":"2012-10-17","Statement":[{"Sid":"partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:111122223333:event-bus/orders"}]}
EOT
}
