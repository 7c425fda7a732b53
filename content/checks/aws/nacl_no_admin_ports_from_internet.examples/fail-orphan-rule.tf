# The network ACL is managed elsewhere: the rule is still checked.
resource "aws_network_acl_rule" "ssh" {
  network_acl_id  = "acl-0123456789abcdef0"
  rule_number     = 100
  egress          = false
  protocol        = "tcp"
  rule_action     = "allow"
  ipv6_cidr_block = "::/0"
  from_port       = 22
  to_port         = 22
}
