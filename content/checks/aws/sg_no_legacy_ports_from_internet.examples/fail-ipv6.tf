resource "aws_security_group" "s" {
  name = "db"
}
resource "aws_vpc_security_group_ingress_rule" "r" {
  security_group_id = aws_security_group.s.id
  from_port         = 445
  to_port           = 445
  ip_protocol       = "tcp"
  cidr_ipv6         = "::/0"
}
