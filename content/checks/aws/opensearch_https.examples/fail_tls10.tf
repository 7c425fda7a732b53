resource "aws_opensearch_domain" "d" {
  domain_name = "search"
  cluster_config {
    instance_type = "r6g.large.search"
  }
  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-0-2019-07"
  }
}
