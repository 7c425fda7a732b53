resource "aws_transfer_server" "s" {
  identity_provider_type = "API_GATEWAY"
  url                    = "https://example.execute-api.us-east-1.amazonaws.com/prod"
  invocation_role        = "arn:aws:iam::111122223333:role/transfer-idp"
  protocols              = ["SFTP"]
  endpoint_type          = "VPC"
  security_policy_name   = "TransferSecurityPolicy-2020-06"

  endpoint_details {
    vpc_id     = "vpc-0example"
    subnet_ids = ["subnet-0example"]
  }
}
