resource "aws_glue_job" "j" {
  name     = "nightly-etl"
  role_arn = aws_iam_role.glue.arn
  command {
    script_location = "s3://etl-scripts-111122223333/nightly.py"
  }
}
