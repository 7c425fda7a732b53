variable "group" {}
variable "cidr" {}

resource "aws_security_group" "ssh" {
  name = "${var.group}-ssh"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.cidr]
  }
}
