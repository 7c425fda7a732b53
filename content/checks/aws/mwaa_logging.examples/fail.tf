resource "aws_mwaa_environment" "m" {
  name               = "etl"
  dag_s3_path        = "dags/"
  execution_role_arn = "arn:aws:iam::111122223333:role/mwaa"
  source_bucket_arn  = "arn:aws:s3:::example-airflow"
  webserver_access_mode = "PRIVATE_ONLY"

  network_configuration {
    security_group_ids = ["sg-0example"]
    subnet_ids         = ["subnet-0a", "subnet-0b"]
  }
}
