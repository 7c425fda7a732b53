resource "aws_cloudtrail" "main" {
  name                       = "main"
  s3_bucket_name             = "trail-logs"
  is_multi_region_trail      = true
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:111122223333:log-group:cloudtrail:*"
  cloud_watch_logs_role_arn  = "arn:aws:iam::111122223333:role/cloudtrail-logs"
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  name           = "VpcChanges"
  log_group_name = "cloudtrail"
  pattern        = "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }"
  metric_transformation {
    name      = "VpcChanges"
    namespace = "CISBenchmark"
    value     = "1"
  }
}
