# An Aurora instance is backed up with its cluster.
resource "aws_rds_cluster" "c" {
  cluster_identifier      = "orders"
  engine                  = "aurora-postgresql"
  backup_retention_period = 14
}

resource "aws_db_instance" "member" {
  identifier         = "orders-1"
  cluster_identifier = aws_rds_cluster.c.id
  instance_class     = "db.r6g.large"
  engine             = "aurora-postgresql"
}
