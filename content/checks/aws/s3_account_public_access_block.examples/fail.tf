resource "aws_s3_account_public_access_block" "a" {
  block_public_acls = true
}
