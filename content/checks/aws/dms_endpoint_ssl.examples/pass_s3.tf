resource "aws_dms_endpoint" "e" {
  endpoint_id   = "landing"
  endpoint_type = "target"
  engine_name   = "s3"
  s3_settings {
    bucket_name             = "landing-111122223333"
    service_access_role_arn = aws_iam_role.dms_s3.arn
  }
}
