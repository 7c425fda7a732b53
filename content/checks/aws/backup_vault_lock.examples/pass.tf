resource "aws_backup_vault" "v" {
  name = "prod"
}

resource "aws_backup_vault_lock_configuration" "l" {
  backup_vault_name  = aws_backup_vault.v.name
  min_retention_days = 7
  max_retention_days = 365
}
