resource "aws_cloudtrail" "t" {
  name           = "org"
  s3_bucket_name = "trail-logs"
  kms_key_id     = ""
}
