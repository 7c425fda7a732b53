resource "aws_db_instance" "d" {
  identifier              = "orders"
  backup_retention_period = 0
}
