resource "aws_security_group" "s" {
  name = "bastion"
}

resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = aws_security_group.s.id
  from_port         = 22
  to_port           = 22
  protocol          = "6"
  cidr_blocks       = ["1.2.3.4/0"]
}
