resource "aws_docdb_cluster" "c" {
  cluster_identifier          = "docs"
  engine                      = "docdb"
  master_username             = "docsadmin"
  manage_master_user_password = true
  storage_encrypted           = true
  backup_retention_period = 7
}
