resource "aws_kms_key" "k" {
  description         = "app"
  enable_key_rotation = true
  policy              = <<EOT
{"Version":"2012-10-17","Statement":[{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}
EOT
}
