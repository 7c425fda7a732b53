resource "aws_guardduty_detector" "d" {
  enable = true
  datasources {
    kubernetes {
      audit_logs {
        enable = true
      }
    }
  }
}
