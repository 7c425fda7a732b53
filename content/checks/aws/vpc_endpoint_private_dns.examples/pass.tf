resource "aws_vpc_endpoint" "sqs" {
  vpc_id              = "vpc-0a1b2c3d"
  service_name        = "com.amazonaws.us-east-1.sqs"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
  private_dns_enabled = true
}
