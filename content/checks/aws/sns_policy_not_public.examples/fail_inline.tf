resource "aws_sns_topic" "t" {
  name = "alerts"
  policy = <<POLICY
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Subscribe","SNS:Publish"],"Resource":"*"}]}
POLICY
}
