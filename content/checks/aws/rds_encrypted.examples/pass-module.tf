# The rds module encrypts storage by default.
module "db" {
  source     = "terraform-aws-modules/rds/aws"
  identifier = "orders"
  engine     = "postgres"
}
