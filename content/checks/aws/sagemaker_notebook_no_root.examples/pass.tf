resource "aws_sagemaker_notebook_instance" "n" {
  name          = "research"
  role_arn      = "arn:aws:iam::111122223333:role/sagemaker"
  instance_type = "ml.t3.medium"
  root_access = "Disabled"
}
