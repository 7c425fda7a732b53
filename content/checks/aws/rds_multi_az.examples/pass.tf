resource "aws_db_instance" "d" {
  identifier        = "orders"
  storage_encrypted = true
  multi_az = true
}
