resource "aws_wafv2_rule_group" "g" {
  name     = "block-bad-ips"
  scope    = "REGIONAL"
  capacity = 2
  rule {
    name     = "bad-ips"
    priority = 1
    action {
      block {}
    }
    statement {
      ip_set_reference_statement {
        arn = "arn:aws:wafv2:us-east-1:111122223333:regional/ipset/bad/a1b2c3d4"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "bad-ips"
      sampled_requests_enabled   = true
    }
  }
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "block-bad-ips"
    sampled_requests_enabled   = true
  }
}
