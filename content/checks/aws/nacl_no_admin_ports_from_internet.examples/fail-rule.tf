resource "aws_network_acl" "n" {
  vpc_id = "vpc-1"
}

resource "aws_network_acl_rule" "rdp" {
  network_acl_id = aws_network_acl.n.id
  rule_number    = 100
  egress         = false
  protocol       = "6"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
  from_port      = 3389
  to_port        = 3389
}
