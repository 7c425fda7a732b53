resource "aws_dms_endpoint" "e" {
  endpoint_id   = "source"
  endpoint_type = "source"
  engine_name   = "postgres"
  server_name   = "orders.cluster-abc123.us-east-1.rds.amazonaws.com"
  port          = 5432
  database_name = "orders"
  username      = "dms"
  password      = var.dms_password
  ssl_mode = "none"
}
