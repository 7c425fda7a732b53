resource "aws_guardduty_detector" "d" {
  enable = true
}
