module "vpc" {
  source                        = "terraform-aws-modules/vpc/aws"
  version                       = "~> 5.0"
  cidr                          = "10.0.0.0/16"
  manage_default_security_group = true
  default_security_group_ingress = [
    {
      protocol  = "-1"
      from_port = 0
      to_port   = 0
      self      = true
    },
  ]
}
