resource "aws_docdb_cluster" "c" {
  cluster_identifier = "graph"
  enabled_cloudwatch_logs_exports = ["audit", "profiler"]
}
