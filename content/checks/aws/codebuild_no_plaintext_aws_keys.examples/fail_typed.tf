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

    environment_variable {
      name  = "STAGE"
      value = "prod"
    }

    environment_variable {
      name  = "AWS_SECRET_ACCESS_KEY"
      value = var.secret_access_key
      type  = "PLAINTEXT"
    }
  }

  source {
    type     = "GITHUB"
    location = "https://github.com/example/app.git"
  }
}
