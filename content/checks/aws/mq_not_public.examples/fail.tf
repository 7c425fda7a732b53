resource "aws_mq_broker" "b" {
  broker_name         = "jobs"
  engine_type         = "ActiveMQ"
  engine_version      = "5.18"
  host_instance_type  = "mq.t3.micro"
  publicly_accessible = true
  user {
    username = "app"
    password = var.mq_password
  }
}

variable "mq_password" {
  sensitive = true
}
