resource "aws_sns_topic" "t" {
  name = "alerts"
}

resource "aws_sns_topic_policy" "p" {
  arn    = aws_sns_topic.t.arn
  policy = <<POLICY
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Publish"],"Resource":"*","Condition":{"StringEquals":{"AWS:SourceOwner":"111122223333"}}}]}
POLICY
}
