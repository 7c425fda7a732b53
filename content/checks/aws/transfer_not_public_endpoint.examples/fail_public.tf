resource "aws_transfer_server" "s" {
  identity_provider_type = "API_GATEWAY"
  url                    = "https://example.execute-api.us-east-1.amazonaws.com/prod"
  invocation_role        = "arn:aws:iam::111122223333:role/transfer-idp"
  protocols              = ["SFTP"]
  endpoint_type          = "PUBLIC"
  security_policy_name   = "TransferSecurityPolicy-2024-01"
}
