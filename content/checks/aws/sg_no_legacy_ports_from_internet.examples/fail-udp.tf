# NetBIOS name service is UDP.
resource "aws_security_group" "s" {
  name = "files"
  ingress {
    from_port   = 137
    to_port     = 138
    protocol    = "udp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
