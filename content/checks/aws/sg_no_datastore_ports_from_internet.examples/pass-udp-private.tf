resource "aws_security_group" "s" {
  name = "cache"
  ingress {
    from_port   = 11211
    to_port     = 11211
    protocol    = "udp"
    cidr_blocks = ["10.0.0.0/16"]
  }
}
