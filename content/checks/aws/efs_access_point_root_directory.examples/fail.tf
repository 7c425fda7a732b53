resource "aws_efs_access_point" "ap" {
  file_system_id = aws_efs_file_system.fs.id

  posix_user {
    uid = 1000
    gid = 1000
  }
}
