resource "aws_datasync_task" "t" {
  name                     = "archive"
  source_location_arn      = aws_datasync_location_nfs.src.arn
  destination_location_arn = aws_datasync_location_s3.dst.arn
  cloudwatch_log_group_arn = aws_cloudwatch_log_group.sync.arn

  options {
    log_level = "TRANSFER"
  }
}
