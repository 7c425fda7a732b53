resource "aws_wafregional_web_acl" "a" {
  name        = "app"
  metric_name = "app"
  default_action {
    type = "ALLOW"
  }
  rule {
    action {
      type = "BLOCK"
    }
    priority = 1
    rule_id  = "a1b2c3d4-1111-2222-3333-444455556666"
  }
}
