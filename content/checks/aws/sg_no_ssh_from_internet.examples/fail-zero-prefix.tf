# 2001:db8::/0 covers every IPv6 address, as ::/0 does.
resource "aws_security_group" "s" {
  name = "bastion"
  ingress {
    from_port        = 22
    to_port          = 22
    protocol         = "tcp"
    ipv6_cidr_blocks = ["2001:db8::/0"]
  }
}
