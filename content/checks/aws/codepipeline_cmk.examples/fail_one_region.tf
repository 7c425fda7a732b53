resource "aws_codepipeline" "p" {
  name     = "release"
  role_arn = "arn:aws:iam::111122223333:role/pipeline"

  artifact_store {
    location = "example-pipeline-artifacts-us-east-1"
    type     = "S3"
    region   = "us-east-1"

    encryption_key {
      id   = aws_kms_key.pipeline.arn
      type = "KMS"
    }
  }

  artifact_store {
    location = "example-pipeline-artifacts-eu-west-1"
    type     = "S3"
    region   = "eu-west-1"
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
