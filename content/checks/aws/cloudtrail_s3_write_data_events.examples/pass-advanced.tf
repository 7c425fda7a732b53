resource "aws_cloudtrail" "main" {
  name                  = "main"
  s3_bucket_name        = "trail-logs"
  is_multi_region_trail = true
  advanced_event_selector {
    name = "S3 object write"
    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }
    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }
    field_selector {
      field  = "readOnly"
      equals = ["false"]
    }
  }
}
