resource "aws_ses_configuration_set" "c" {
  name = "transactional"
}
