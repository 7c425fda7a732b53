resource "aws_neptune_cluster" "c" {
  cluster_identifier = "graph"
  enable_cloudwatch_logs_exports = ["audit"]
}
