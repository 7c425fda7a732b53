resource "aws_codebuild_project" "p" {
  name         = "build"
  service_role = "arn:aws:iam::111122223333:role/codebuild"

  artifacts {
    type = "NO_ARTIFACTS"
  }

  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = "aws/codebuild/standard:7.0"
    type         = "LINUX_CONTAINER"
  }

  source {
    type     = "CODECOMMIT"
    location = "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"
  }

  secondary_sources {
    type              = "S3"
    location          = "example-sources/tools@v2.zip"
    source_identifier = "tools"
  }
}
