# The log group is named but CloudTrail has no role to write to it.
resource "aws_cloudtrail" "t" {
  name                       = "org"
  s3_bucket_name             = "trail-logs"
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:111122223333:log-group:trail:*"
}
