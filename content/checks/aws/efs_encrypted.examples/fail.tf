resource "aws_efs_file_system" "f" {
  creation_token = "shared"
}
