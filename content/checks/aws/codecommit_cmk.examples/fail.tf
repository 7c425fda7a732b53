resource "aws_codecommit_repository" "r" {
  repository_name = "app"
}
