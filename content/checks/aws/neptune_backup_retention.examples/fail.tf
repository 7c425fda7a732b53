resource "aws_neptune_cluster" "c" {
  cluster_identifier = "graph"
  engine             = "neptune"
  storage_encrypted  = true
}
