resource "aws_globalaccelerator_accelerator" "edge" {
  name            = "edge"
  ip_address_type = "IPV4"
  enabled         = true

  attributes {
    flow_logs_enabled = false
  }
}
