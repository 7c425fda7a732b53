resource "aws_networkfirewall_firewall" "edge" {
  name                = "edge"
  firewall_policy_arn = "arn:aws:network-firewall:us-east-1:111122223333:firewall-policy/edge"
  vpc_id              = "vpc-0a1b2c3d"

  subnet_mapping {
    subnet_id = "subnet-0a1b2c3d"
  }
}

resource "aws_networkfirewall_logging_configuration" "edge" {
  firewall_arn = aws_networkfirewall_firewall.edge.arn

  logging_configuration {
    log_destination_config {
      log_destination = {
        logGroup = "network-firewall-alerts"
      }
      log_destination_type = "CloudWatchLogs"
      log_type             = "ALERT"
    }
  }
}
