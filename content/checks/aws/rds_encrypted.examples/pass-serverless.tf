# Aurora Serverless v1 clusters are always encrypted.
resource "aws_rds_cluster" "c" {
  cluster_identifier = "reports"
  engine             = "aurora-mysql"
  engine_mode        = "serverless"
}
