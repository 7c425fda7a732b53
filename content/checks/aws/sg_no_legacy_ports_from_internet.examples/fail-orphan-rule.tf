# The group is managed elsewhere: the rule is still checked.
resource "aws_security_group_rule" "smb" {
  type              = "ingress"
  security_group_id = "sg-0123456789abcdef0"
  from_port         = 445
  to_port           = 445
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
