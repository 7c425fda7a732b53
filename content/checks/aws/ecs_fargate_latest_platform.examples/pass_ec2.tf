resource "aws_ecs_service" "orders" {
  name            = "orders"
  cluster         = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
  task_definition = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:7"
  desired_count   = 2
  launch_type     = "EC2"
}
