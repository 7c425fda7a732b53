resource "aws_cloudtrail" "main" {
  name                       = "main"
  s3_bucket_name             = "trail-logs"
  is_multi_region_trail      = true
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:111122223333:log-group:cloudtrail:*"
  cloud_watch_logs_role_arn  = "arn:aws:iam::111122223333:role/cloudtrail-logs"
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  name           = "NetworkAclChanges"
  log_group_name = "cloudtrail"
  pattern        = "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }"
  metric_transformation {
    name      = "NetworkAclChanges"
    namespace = "CISBenchmark"
    value     = "1"
  }
}
resource "aws_cloudwatch_metric_alarm" "a" {
  alarm_name          = "NetworkAclChanges"
  metric_name         = "NetworkAclChanges"
  namespace           = "CISBenchmark"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  alarm_actions       = ["arn:aws:sns:us-east-1:111122223333:security-alerts"]
}
