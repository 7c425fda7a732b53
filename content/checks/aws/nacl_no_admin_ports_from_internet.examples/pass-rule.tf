resource "aws_network_acl" "n" {
  vpc_id = "vpc-1"
}

resource "aws_network_acl_rule" "ssh" {
  network_acl_id = aws_network_acl.n.id
  rule_number    = 100
  egress         = false
  protocol       = "tcp"
  rule_action    = "deny"
  cidr_block     = "0.0.0.0/0"
  from_port      = 22
  to_port        = 22
}

resource "aws_network_acl_rule" "https" {
  network_acl_id = aws_network_acl.n.id
  rule_number    = 110
  egress         = false
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
  from_port      = 443
  to_port        = 443
}

# Egress rules do not admit traffic.
resource "aws_network_acl_rule" "out" {
  network_acl_id = aws_network_acl.n.id
  rule_number    = 100
  egress         = true
  protocol       = "-1"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
}
