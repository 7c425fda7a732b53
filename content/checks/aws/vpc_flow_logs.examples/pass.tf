resource "aws_vpc" "v" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_flow_log" "f" {
  vpc_id               = aws_vpc.v.id
  traffic_type         = "ALL"
  log_destination      = "arn:aws:s3:::flow-logs"
  log_destination_type = "s3"
}
