# An Aurora instance's storage is its cluster's.
resource "aws_rds_cluster" "c" {
  cluster_identifier = "orders"
  engine             = "aurora-postgresql"
  storage_encrypted  = true
}

resource "aws_rds_cluster_instance" "i" {
  cluster_identifier = aws_rds_cluster.c.id
  instance_class     = "db.r6g.large"
  engine             = "aurora-postgresql"
}

resource "aws_db_instance" "member" {
  identifier         = "orders-2"
  cluster_identifier = aws_rds_cluster.c.id
  instance_class     = "db.r6g.large"
  engine             = "aurora-postgresql"
}
