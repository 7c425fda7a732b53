resource "aws_waf_web_acl" "a" {
  name        = "edge"
  metric_name = "edge"
  default_action {
    type = "ALLOW"
  }
  rules {
    action {
      type = "BLOCK"
    }
    priority = 1
    rule_id  = "a1b2c3d4-1111-2222-3333-444455556666"
    type     = "REGULAR"
  }
}
