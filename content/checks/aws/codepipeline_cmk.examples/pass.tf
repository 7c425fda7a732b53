resource "aws_codepipeline" "p" {
  name     = "release"
  role_arn = "arn:aws:iam::111122223333:role/pipeline"

  artifact_store {
    location = "example-pipeline-artifacts"
    type     = "S3"

    encryption_key {
      id   = aws_kms_key.pipeline.arn
      type = "KMS"
    }
  }

  stage {
    name = "Source"

    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "S3"
      version          = "1"
      output_artifacts = ["source"]
      configuration = {
        S3Bucket    = "example-sources"
        S3ObjectKey = "app.zip"
      }
    }
  }
}
