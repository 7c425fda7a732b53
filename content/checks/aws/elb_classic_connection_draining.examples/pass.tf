resource "aws_elb" "web" {
  name               = "web"
  availability_zones = ["us-east-1a", "us-east-1b"]

  listener {
    instance_port     = 8443
    instance_protocol = "https"
    lb_port           = 443
    lb_protocol       = "https"
    ssl_certificate_id = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-1111-2222-3333-444455556666"
  }

  connection_draining         = true
  connection_draining_timeout = 300
}
