resource "aws_waf_web_acl" "a" {
  name        = "edge"
  metric_name = "edge"
  default_action {
    type = "ALLOW"
  }
}
