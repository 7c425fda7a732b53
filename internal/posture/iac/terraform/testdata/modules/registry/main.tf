# Public modules without their code (no terraform init): mapped from
# their inputs.
module "logs" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "~> 4.0"
  bucket  = "acme-logs"

  block_public_policy                   = false
  attach_deny_insecure_transport_policy = true
  versioning = {
    enabled = true
  }
  server_side_encryption_configuration = {
    rule = {
      apply_server_side_encryption_by_default = {
        sse_algorithm = "aws:kms"
      }
    }
  }
}

module "web_sg" {
  source              = "terraform-aws-modules/security-group/aws"
  name                = "web"
  ingress_cidr_blocks = ["0.0.0.0/0"]
  ingress_rules       = ["https-443-tcp"]
  ingress_with_cidr_blocks = [
    {
      rule        = "ssh-tcp"
      cidr_blocks = "10.0.0.0/8,192.0.2.0/0"
    },
  ]
}

module "db" {
  source              = "terraform-aws-modules/rds/aws"
  version             = "6.1.0"
  identifier          = "orders"
  publicly_accessible = true
}

module "vpc" {
  source          = "github.com/terraform-aws-modules/terraform-aws-vpc?ref=v5.1.0"
  cidr            = "10.0.0.0/16"
  enable_flow_log = true
}

module "deployer" {
  source = "terraform-aws-modules/iam/aws//modules/iam-user"
  name   = "deployer"
}

module "key" {
  source              = "terraform-aws-modules/kms/aws"
  enable_key_rotation = false
}

module "fn" {
  source                     = "terraform-aws-modules/lambda/aws"
  function_name              = "hook"
  create_lambda_function_url = true
}

module "cluster" {
  source       = "terraform-aws-modules/eks/aws"
  version      = "~> 18.0"
  cluster_name = "main"
}

module "admin" {
  source            = "terraform-aws-modules/iam/aws//modules/iam-assumable-role"
  create_role       = true
  role_name         = "admin"
  trusted_role_arns = ["arn:aws:iam::111122223333:root"]
}

module "disabled" {
  source = "terraform-aws-modules/s3-bucket/aws"
  count  = 0
  bucket = "never"
}

module "also_disabled" {
  source   = "git::https://git.example.com/never.git"
  for_each = toset([])
}
