# RDP also listens on UDP 3389.
resource "aws_security_group" "s" {
  name = "desktops"
  ingress {
    from_port   = 3389
    to_port     = 3389
    protocol    = "udp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
