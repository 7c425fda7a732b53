variable "name" {}
variable "open" {
  default = false
}

resource "aws_s3_bucket" "site" {
  bucket = "${var.name}-site"
}

resource "aws_security_group" "this" {
  name = var.name
}

module "rules" {
  source = "./modules/rules"
  group  = aws_security_group.this.name
  cidr   = var.open ? "0.0.0.0/0" : "10.0.0.0/8"
}
