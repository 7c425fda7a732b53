resource "aws_ecs_cluster" "prod" {
  name = "prod"

  setting {
    name  = "containerInsights"
    value = "disabled"
  }
}
