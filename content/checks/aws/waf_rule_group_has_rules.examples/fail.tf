resource "aws_wafv2_rule_group" "g" {
  name     = "block-bad-ips"
  scope    = "REGIONAL"
  capacity = 2
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "block-bad-ips"
    sampled_requests_enabled   = true
  }
}
