resource "aws_ssm_service_setting" "s" {
  setting_id    = "arn:aws:ssm:us-east-1:111122223333:servicesetting/ssm/documents/console/public-sharing-permission"
  setting_value = "Enable"
}
