resource "aws_timestreamwrite_database" "d" {
  database_name = "metrics"
  kms_key_id    = aws_kms_key.timestream.arn
}
