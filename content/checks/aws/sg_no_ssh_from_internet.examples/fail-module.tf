module "bastion" {
  source              = "terraform-aws-modules/security-group/aws"
  name                = "bastion"
  ingress_cidr_blocks = ["0.0.0.0/0"]
  ingress_rules       = ["ssh-tcp"]
}
