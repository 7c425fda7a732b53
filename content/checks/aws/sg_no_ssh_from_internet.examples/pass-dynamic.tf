resource "aws_security_group" "internal" {
  name = "internal"
  dynamic "ingress" {
    for_each = { ssh = 22 }
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }
  }
}
