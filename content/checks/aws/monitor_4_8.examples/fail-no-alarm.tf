resource "aws_cloudtrail" "main" {
  name                       = "main"
  s3_bucket_name             = "trail-logs"
  is_multi_region_trail      = true
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:111122223333:log-group:cloudtrail:*"
  cloud_watch_logs_role_arn  = "arn:aws:iam::111122223333:role/cloudtrail-logs"
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  name           = "BucketPolicyChanges"
  log_group_name = "cloudtrail"
  pattern        = "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }"
  metric_transformation {
    name      = "BucketPolicyChanges"
    namespace = "CISBenchmark"
    value     = "1"
  }
}
