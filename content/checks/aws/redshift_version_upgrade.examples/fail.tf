resource "aws_redshift_cluster" "c" {
  cluster_identifier     = "warehouse"
  node_type              = "ra3.xlplus"
  number_of_nodes        = 2
  master_username        = "admin_db"
  manage_master_password = true
  allow_version_upgrade = false
}
