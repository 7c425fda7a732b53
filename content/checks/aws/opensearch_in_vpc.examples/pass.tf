resource "aws_opensearch_domain" "d" {
  domain_name = "search"
  cluster_config {
    instance_type = "r6g.large.search"
  }
  vpc_options {
    subnet_ids         = ["subnet-0a1b2c3d"]
    security_group_ids = ["sg-0a1b2c3d"]
  }
}
