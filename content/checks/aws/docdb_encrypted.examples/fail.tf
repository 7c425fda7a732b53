resource "aws_docdb_cluster" "c" {
  cluster_identifier = "graph"
}
