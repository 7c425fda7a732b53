resource "aws_cloudwatch_event_bus_policy" "p" {
  event_bus_name = "default"
  policy         = <<EOT
{"Version":"2012-10-17","Statement":[{"Sid":"org","Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:111122223333:event-bus/default","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}
EOT
}

resource "aws_cloudwatch_event_bus" "b" {
  name = "orders"
}
