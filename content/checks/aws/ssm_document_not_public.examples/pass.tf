resource "aws_ssm_document" "d" {
  name          = "restart-app"
  document_type = "Command"
  content = jsonencode({
    schemaVersion = "2.2"
    description   = "Restart the app"
    mainSteps = [{
      action = "aws:runShellScript"
      name   = "restart"
      inputs = { runCommand = ["systemctl restart app"] }
    }]
  })
  permissions = {
    type        = "Share"
    account_ids = "444455556666"
  }
}
