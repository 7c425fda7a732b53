resource "aws_organizations_organization" "o" {
  feature_set = "ALL"
  enabled_policy_types = ["TAG_POLICY"]
}
