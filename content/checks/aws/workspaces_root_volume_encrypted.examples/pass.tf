resource "aws_workspaces_workspace" "w" {
  directory_id = "d-1234567890"
  bundle_id    = "wsb-bh8rsxt14"
  user_name    = "jdoe"
  root_volume_encryption_enabled = true
  user_volume_encryption_enabled = true
  volume_encryption_key          = aws_kms_key.workspaces.arn
}
