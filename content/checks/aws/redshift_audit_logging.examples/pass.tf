resource "aws_redshift_cluster" "c" {
  cluster_identifier = "warehouse"
  node_type          = "ra3.xlplus"
  master_username    = "admin"
  manage_master_password = true
}

resource "aws_redshift_logging" "l" {
  cluster_identifier   = aws_redshift_cluster.c.id
  log_destination_type = "cloudwatch"
  log_exports          = ["connectionlog", "userlog", "useractivitylog"]
}
