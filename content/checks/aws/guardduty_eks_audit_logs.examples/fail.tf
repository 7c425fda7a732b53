resource "aws_guardduty_detector" "d" {
  enable = true
}

resource "aws_guardduty_detector_feature" "f" {
  detector_id = aws_guardduty_detector.d.id
  name        = "EKS_AUDIT_LOGS"
  status      = "DISABLED"
}
