resource "aws_db_instance" "d" {
  identifier        = "orders"
  storage_encrypted = true
  iam_database_authentication_enabled = false
}
