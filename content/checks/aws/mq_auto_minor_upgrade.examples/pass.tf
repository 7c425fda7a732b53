resource "aws_mq_broker" "b" {
  broker_name        = "orders"
  engine_type        = "ActiveMQ"
  engine_version     = "5.17.6"
  host_instance_type = "mq.m5.large"
  subnet_ids         = ["subnet-0a1b2c3d4e5f60001"]
  user {
    username = "app"
    password = var.mq_password
  }
  auto_minor_version_upgrade = true
}
