resource "aws_athena_workgroup" "w" {
  name = "analysts"
  configuration {
    result_configuration {
      output_location = "s3://athena-results-111122223333/analysts/"
    }
  }
}
