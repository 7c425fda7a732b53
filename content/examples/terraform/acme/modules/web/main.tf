variable "vpc_id" {}

variable "admin_ssh" {
  default = false
}

resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = var.vpc_id
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.admin_ssh ? ["0.0.0.0/0"] : ["10.20.0.0/16"]
  }
}

resource "aws_instance" "web" {
  count         = 2
  ami           = "ami-0b5eea76982371e91"
  instance_type = "t3.small"
  metadata_options {
    http_tokens = count.index == 0 ? "required" : "optional"
  }
  root_block_device {
    encrypted = true
  }
}
