# An Aurora instance's storage is its cluster's, in three zones.
resource "aws_rds_cluster" "c" {
  cluster_identifier = "orders"
  engine             = "aurora-postgresql"
}

resource "aws_rds_cluster_instance" "i" {
  identifier         = "orders-1"
  cluster_identifier = aws_rds_cluster.c.id
  instance_class     = "db.r6g.large"
  engine             = "aurora-postgresql"
}
