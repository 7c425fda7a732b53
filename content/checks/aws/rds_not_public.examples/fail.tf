resource "aws_db_instance" "d" {
  identifier          = "orders"
  publicly_accessible = true
  storage_encrypted   = true
}
