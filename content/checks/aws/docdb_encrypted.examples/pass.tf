resource "aws_docdb_cluster" "c" {
  cluster_identifier = "graph"
  storage_encrypted = true
}
