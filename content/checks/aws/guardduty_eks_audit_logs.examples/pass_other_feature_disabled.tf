resource "aws_guardduty_detector" "d" {
  enable = true
}

resource "aws_guardduty_detector_feature" "f" {
  detector_id = aws_guardduty_detector.d.id
  name        = "EKS_AUDIT_LOGS"
  status      = "ENABLED"
}

resource "aws_guardduty_detector_feature" "g" {
  detector_id = aws_guardduty_detector.d.id
  name        = "RDS_LOGIN_EVENTS"
  status      = "DISABLED"
}
