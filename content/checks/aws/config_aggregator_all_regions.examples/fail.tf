resource "aws_config_configuration_aggregator" "a" {
  name = "org"
  organization_aggregation_source {
    regions  = ["us-east-1", "eu-west-1"]
    role_arn = "arn:aws:iam::111122223333:role/config-aggregator"
  }
}
