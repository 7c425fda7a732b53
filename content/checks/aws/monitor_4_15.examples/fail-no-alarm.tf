resource "aws_cloudtrail" "main" {
  name                       = "main"
  s3_bucket_name             = "trail-logs"
  is_multi_region_trail      = true
  cloud_watch_logs_group_arn = "arn:aws:logs:us-east-1:111122223333:log-group:cloudtrail:*"
  cloud_watch_logs_role_arn  = "arn:aws:iam::111122223333:role/cloudtrail-logs"
}
resource "aws_cloudwatch_log_metric_filter" "f" {
  name           = "AwsOrganizationsChanges"
  log_group_name = "cloudtrail"
  pattern        = "{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = \"AcceptHandshake\") || ($.eventName = \"AttachPolicy\") || ($.eventName = \"CreateAccount\") || ($.eventName = \"CreateOrganizationalUnit\") || ($.eventName = \"CreatePolicy\") || ($.eventName = \"DeclineHandshake\") || ($.eventName = \"DeleteOrganization\") || ($.eventName = \"DeleteOrganizationalUnit\") || ($.eventName = \"DeletePolicy\") || ($.eventName = \"DetachPolicy\") || ($.eventName = \"DisablePolicyType\") || ($.eventName = \"EnablePolicyType\") || ($.eventName = \"InviteAccountToOrganization\") || ($.eventName = \"LeaveOrganization\") || ($.eventName = \"MoveAccount\") || ($.eventName = \"RemoveAccountFromOrganization\") || ($.eventName = \"UpdatePolicy\") || ($.eventName = \"UpdateOrganizationalUnit\")) }"
  metric_transformation {
    name      = "AwsOrganizationsChanges"
    namespace = "CISBenchmark"
    value     = "1"
  }
}
