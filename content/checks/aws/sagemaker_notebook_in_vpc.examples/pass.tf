resource "aws_sagemaker_notebook_instance" "n" {
  name                   = "research"
  role_arn               = aws_iam_role.notebook.arn
  instance_type          = "ml.t3.medium"
  direct_internet_access = "Disabled"
  subnet_id       = aws_subnet.private.id
  security_groups = [aws_security_group.notebook.id]
}
