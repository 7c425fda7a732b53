resource "aws_emr_security_configuration" "s" {
  name = "emr-encrypted"

  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption           = false
      EnableInTransitEncryption        = true
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = "s3://emr-certs-111122223333/certs.zip"
        }
      }
    }
  })
}
