resource "aws_organizations_organization" "o" {
  feature_set = "ALL"
}
