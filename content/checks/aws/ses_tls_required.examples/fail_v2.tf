resource "aws_sesv2_configuration_set" "c" {
  configuration_set_name = "transactional"
  delivery_options {
    tls_policy = "OPTIONAL"
  }
}
