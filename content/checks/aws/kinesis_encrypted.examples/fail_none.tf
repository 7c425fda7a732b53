resource "aws_kinesis_stream" "s" {
  name        = "clicks"
  shard_count = 1
  encryption_type = "NONE"
}
