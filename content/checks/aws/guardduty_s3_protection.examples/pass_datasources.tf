resource "aws_guardduty_detector" "d" {
  enable = true
  datasources {
    s3_logs {
      enable = true
    }
  }
}
