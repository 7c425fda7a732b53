resource "aws_db_instance" "d" {
  identifier        = "orders"
  engine            = "postgres"
  instance_class    = "db.t4g.medium"
  allocated_storage = 20
  storage_encrypted = true
  copy_tags_to_snapshot = true
}
