resource "aws_cloudwatch_log_group" "vpn" {
  name = "vpn-tunnels"
}

resource "aws_vpn_connection" "office" {
  customer_gateway_id = "cgw-0a1b2c3d4e5f60718"
  transit_gateway_id  = "tgw-0a1b2c3d4e5f60718"
  type                = "ipsec.1"

  tunnel1_log_options {
    cloudwatch_log_options {
      log_enabled       = true
      log_group_arn     = aws_cloudwatch_log_group.vpn.arn
      log_output_format = "json"
    }
  }

  tunnel2_log_options {
    cloudwatch_log_options {
      log_enabled       = false
      log_group_arn     = aws_cloudwatch_log_group.vpn.arn
      log_output_format = "json"
    }
  }
}
