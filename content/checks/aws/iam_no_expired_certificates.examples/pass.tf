resource "aws_iam_server_certificate" "c" {
  name             = "www"
  certificate_body = <<-EOT
    -----BEGIN CERTIFICATE-----
    MIIBIjCByaADAgECAgEBMAoGCCqGSM49BAMCMBoxGDAWBgNVBAMTD3d3dy5leGFt
    cGxlLmNvbTAgFw0yNTAxMDEwMDAwMDBaGA8yMDk5MDEwMTAwMDAwMFowGjEYMBYG
    A1UEAxMPd3d3LmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
    42Gt2iLfnGBjV8pLNmG9avT4lVPGQEKxfaRqbKK2TN671DhRdfk8v784kLay/Msh
    Vua5cFS4AGeinP74vXMCKjAKBggqhkjOPQQDAgNIADBFAiB3qZr3qqe1OXa4wsG/
    Q8VZM6cxwuww/sHWWpCqH0KzswIhAKQOLB6WwOILj3QOugMppSbZsjgbOvZ9Lk5v
    khTl+ayy
    -----END CERTIFICATE-----
  EOT
  private_key      = file("www.key")
}
