resource "aws_opensearch_domain" "d" {
  domain_name = "search"
  cluster_config {
    instance_type = "r6g.large.search"
  }
  access_policies = <<POLICY
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"es:ESHttpGet","Resource":"arn:aws:es:us-east-1:111122223333:domain/search/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}}]}
POLICY
}
