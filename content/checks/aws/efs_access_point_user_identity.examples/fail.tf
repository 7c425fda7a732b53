resource "aws_efs_access_point" "ap" {
  file_system_id = aws_efs_file_system.fs.id

  root_directory {
    path = "/app"

    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "750"
    }
  }
}
