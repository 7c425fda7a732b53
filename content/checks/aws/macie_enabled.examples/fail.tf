resource "aws_macie2_account" "m" {
  status = "PAUSED"
}
