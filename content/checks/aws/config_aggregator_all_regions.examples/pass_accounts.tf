resource "aws_config_configuration_aggregator" "a" {
  name = "org"
  account_aggregation_source {
    account_ids = ["111122223333", "444455556666"]
    all_regions = true
  }
}
