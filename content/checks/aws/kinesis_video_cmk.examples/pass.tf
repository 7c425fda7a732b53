resource "aws_kinesis_video_stream" "s" {
  name                    = "lobby-camera"
  data_retention_in_hours = 24
  media_type              = "video/h264"
  kms_key_id              = aws_kms_key.video.arn
}
