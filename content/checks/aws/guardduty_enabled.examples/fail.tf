resource "aws_guardduty_detector" "d" {
  enable = false
}
