resource "aws_emr_security_configuration" "s" {
  name = "emr-encrypted"

  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption        = true
      EnableInTransitEncryption     = false
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration        = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        }
      }
    }
  })
}
