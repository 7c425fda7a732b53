resource "aws_guardduty_detector" "d" {
  enable = true
}

resource "aws_guardduty_detector_feature" "f" {
  detector_id = aws_guardduty_detector.d.id
  name        = "S3_DATA_EVENTS"
  status      = "DISABLED"
}
