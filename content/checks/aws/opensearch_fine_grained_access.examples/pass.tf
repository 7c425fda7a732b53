resource "aws_opensearch_domain" "d" {
  domain_name    = "search"
  engine_version = "OpenSearch_2.13"
  cluster_config {
    instance_type = "r6g.large.search"
  }
  advanced_security_options {
    enabled                        = true
    internal_user_database_enabled = false
    master_user_options {
      master_user_arn = aws_iam_role.admin.arn
    }
  }
}
