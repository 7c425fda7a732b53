resource "aws_elb" "e" {
  name               = "legacy"
  availability_zones = ["us-east-1a"]
  listener {
    instance_port     = 8080
    instance_protocol = "http"
    lb_port           = 443
    lb_protocol       = "https"
    ssl_certificate_id = "arn:aws:acm:us-east-1:111122223333:certificate/abcd"
  }
  access_logs {
    bucket  = "lb-logs"
    enabled = false
  }
}
