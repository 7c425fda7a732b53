resource "aws_networkfirewall_firewall" "edge" {
  name                = "edge"
  firewall_policy_arn = "arn:aws:network-firewall:us-east-1:111122223333:firewall-policy/edge"
  vpc_id              = "vpc-0a1b2c3d"

  subnet_mapping {
    subnet_id = "subnet-0a1b2c3d"
  }
  delete_protection = true
}
