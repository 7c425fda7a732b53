resource "aws_ec2_transit_gateway" "hub" {
  description = "hub"
}
