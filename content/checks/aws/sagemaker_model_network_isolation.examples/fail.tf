resource "aws_sagemaker_model" "m" {
  name               = "scoring-model"
  execution_role_arn = aws_iam_role.model.arn
  primary_container {
    image          = "111122223333.dkr.ecr.us-east-1.amazonaws.com/scoring:1.4"
    model_data_url = "s3://models-111122223333/scoring/model.tar.gz"
  }
}
