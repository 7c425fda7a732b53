resource "aws_backup_plan" "p" {
  name = "daily"
  rule {
    rule_name         = "daily"
    target_vault_name = "prod"
    schedule          = "cron(0 5 ? * * *)"
    lifecycle {
      delete_after = 35
    }
  }
  rule {
    rule_name         = "hourly"
    target_vault_name = "prod"
    schedule          = "cron(0 5 ? * * *)"
    lifecycle {
      delete_after = 1
    }
  }
}
