resource "aws_vpc_endpoint" "inspection" {
  vpc_id            = "vpc-0a1b2c3d"
  service_name      = "com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f60718"
  vpc_endpoint_type = "GatewayLoadBalancer"
  subnet_ids        = ["subnet-0a1b2c3d"]
}
