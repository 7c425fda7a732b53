resource "aws_athena_workgroup" "w" {
  name = "analysts"
  configuration {
    enforce_workgroup_configuration = false
    result_configuration {
      output_location = "s3://athena-results-111122223333/analysts/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.athena.arn
      }
    }
  }
}
