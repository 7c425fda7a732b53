resource "aws_db_instance" "d" {
  identifier              = "orders"
  storage_encrypted       = true
  backup_retention_period = 14
}
