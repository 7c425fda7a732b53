resource "aws_ses_identity_policy" "p" {
  identity = "arn:aws:ses:us-east-1:111122223333:identity/example.com"
  name     = "senders"
  policy   = <<EOT
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["ses:SendEmail","ses:SendRawEmail"],"Resource":"arn:aws:ses:us-east-1:111122223333:identity/example.com"}]}
EOT
}
