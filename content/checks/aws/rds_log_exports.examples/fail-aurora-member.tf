resource "aws_rds_cluster" "c" {
  cluster_identifier = "orders"
  engine             = "aurora-postgresql"
  storage_encrypted  = true
}

resource "aws_rds_cluster_instance" "i" {
  identifier         = "orders-1"
  cluster_identifier = aws_rds_cluster.c.id
  instance_class     = "db.r6g.large"
  engine             = aws_rds_cluster.c.engine
}
