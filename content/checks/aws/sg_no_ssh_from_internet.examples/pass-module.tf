module "bastion" {
  source              = "terraform-aws-modules/security-group/aws//modules/ssh"
  name                = "bastion"
  ingress_cidr_blocks = ["10.0.0.0/8"]
}
