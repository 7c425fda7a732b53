resource "aws_lb" "web" {
  name    = "web"
  subnets = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
}

resource "aws_wafv2_web_acl_association" "a" {
  resource_arn = aws_lb.web.arn
  web_acl_arn  = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/edge/a1b2"
}
