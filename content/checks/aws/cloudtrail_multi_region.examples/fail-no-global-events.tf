resource "aws_cloudtrail" "t" {
  name                          = "org"
  s3_bucket_name                = "trail-logs"
  is_multi_region_trail         = true
  include_global_service_events = false
}
