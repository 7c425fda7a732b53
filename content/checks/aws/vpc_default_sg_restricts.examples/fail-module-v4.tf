# Before 5.0 the vpc module left the default security group as AWS makes it.
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "4.0.2"
  cidr    = "10.0.0.0/16"
}
