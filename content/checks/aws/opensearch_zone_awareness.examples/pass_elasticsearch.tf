resource "aws_elasticsearch_domain" "d" {
  domain_name    = "search"
  elasticsearch_version = "7.10"
  cluster_config {
    instance_type = "r5.large.elasticsearch"
    instance_count         = 4
    zone_awareness_enabled = true
  }
}
