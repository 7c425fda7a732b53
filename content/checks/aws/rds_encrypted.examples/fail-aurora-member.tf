resource "aws_rds_cluster" "c" {
  cluster_identifier = "orders"
  engine             = "aurora-mysql"
}

# storage_encrypted on a cluster member does not encrypt it: the cluster decides.
resource "aws_db_instance" "member" {
  identifier         = "orders-1"
  cluster_identifier = "orders"
  instance_class     = "db.r6g.large"
  engine             = "aurora-mysql"
  storage_encrypted  = true
}
