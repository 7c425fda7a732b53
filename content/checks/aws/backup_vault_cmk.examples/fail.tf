resource "aws_backup_vault" "v" {
  name = "prod"
}
