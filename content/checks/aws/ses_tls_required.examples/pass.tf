resource "aws_ses_configuration_set" "c" {
  name = "transactional"
  delivery_options {
    tls_policy = "Require"
  }
}
