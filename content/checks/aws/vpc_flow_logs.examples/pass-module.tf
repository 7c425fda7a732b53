module "vpc" {
  source          = "terraform-aws-modules/vpc/aws"
  version         = "5.1.2"
  cidr            = "10.0.0.0/16"
  enable_flow_log = true
}
