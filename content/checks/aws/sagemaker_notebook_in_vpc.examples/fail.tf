resource "aws_sagemaker_notebook_instance" "n" {
  name                   = "research"
  role_arn               = aws_iam_role.notebook.arn
  instance_type          = "ml.t3.medium"
  direct_internet_access = "Disabled"
}
