resource "aws_iam_server_certificate" "c" {
  name             = "www"
  certificate_body = <<-EOT
    -----BEGIN CERTIFICATE-----
    MIIBHzCBx6ADAgECAgEBMAoGCCqGSM49BAMCMBoxGDAWBgNVBAMTD3d3dy5leGFt
    cGxlLmNvbTAeFw0xOTAxMDEwMDAwMDBaFw0yMDAxMDEwMDAwMDBaMBoxGDAWBgNV
    BAMTD3d3dy5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLYh
    y/4hw3kwIjqPZiIfPbLsu2czxW1yei4ZR6qAt6eTSGVekk7eHEgrC5ikhTsDruc9
    WaX8KsP3HxHDqsIs/VowCgYIKoZIzj0EAwIDRwAwRAIgEdKyFnAEW0CNOEbqwFfe
    6cOG+JbZd/N98ChNoDKl19kCICqKDA2LOXvzi4j/P7vzIkfVdp4UvtI9EpWuYobw
    kSMM
    -----END CERTIFICATE-----
  EOT
  private_key      = file("www.key")
}
