resource "aws_networkfirewall_firewall_policy" "edge" {
  name = "edge"

  firewall_policy {
    stateless_default_actions          = ["aws:forward_to_sfe"]
    stateless_fragment_default_actions = ["aws:pass"]

    stateful_rule_group_reference {
      resource_arn = "arn:aws:network-firewall:us-east-1:111122223333:stateful-rulegroup/block-domains"
    }
  }
}
