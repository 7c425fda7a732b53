module "db" {
  source              = "terraform-aws-modules/rds/aws"
  identifier          = "orders"
  engine              = "postgres"
  publicly_accessible = true
}
