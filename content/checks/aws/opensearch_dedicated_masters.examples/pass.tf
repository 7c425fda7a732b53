resource "aws_opensearch_domain" "d" {
  domain_name    = "search"
  engine_version = "OpenSearch_2.13"
  cluster_config {
    instance_type = "r6g.large.search"
    dedicated_master_enabled = true
    dedicated_master_count   = 3
    dedicated_master_type    = "m6g.large.search"
  }
}
