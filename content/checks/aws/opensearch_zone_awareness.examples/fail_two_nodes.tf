resource "aws_opensearch_domain" "d" {
  domain_name    = "search"
  engine_version = "OpenSearch_2.13"
  cluster_config {
    instance_type = "r6g.large.search"
    instance_count         = 2
    zone_awareness_enabled = true
  }
}
