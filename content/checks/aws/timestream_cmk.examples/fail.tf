resource "aws_timestreamwrite_database" "d" {
  database_name = "metrics"
}
