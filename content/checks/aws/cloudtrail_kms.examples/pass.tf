resource "aws_cloudtrail" "t" {
  name           = "org"
  s3_bucket_name = "trail-logs"
  kms_key_id     = "arn:aws:kms:us-east-1:111122223333:key/1234"
}
