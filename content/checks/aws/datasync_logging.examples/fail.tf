resource "aws_datasync_task" "t" {
  name                     = "archive"
  source_location_arn      = aws_datasync_location_nfs.src.arn
  destination_location_arn = aws_datasync_location_s3.dst.arn
}
