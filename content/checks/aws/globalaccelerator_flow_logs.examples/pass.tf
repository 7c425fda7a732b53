resource "aws_globalaccelerator_accelerator" "edge" {
  name            = "edge"
  ip_address_type = "IPV4"
  enabled         = true

  attributes {
    flow_logs_enabled   = true
    flow_logs_s3_bucket = "edge-flow-logs"
    flow_logs_s3_prefix = "accelerator/"
  }
}
