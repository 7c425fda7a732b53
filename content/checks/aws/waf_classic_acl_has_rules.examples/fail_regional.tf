resource "aws_wafregional_web_acl" "a" {
  name        = "app"
  metric_name = "app"
  default_action {
    type = "ALLOW"
  }
}
