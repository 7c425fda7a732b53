resource "aws_macie2_account" "m" {
  finding_publishing_frequency = "FIFTEEN_MINUTES"
}
