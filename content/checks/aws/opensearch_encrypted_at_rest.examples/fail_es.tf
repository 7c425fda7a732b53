resource "aws_elasticsearch_domain" "d" {
  domain_name = "search"
  cluster_config {
    instance_type = "r6g.large.search"
  }
}
