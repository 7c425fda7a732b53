resource "aws_ecs_service" "orders" {
  name            = "orders"
  cluster         = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
  task_definition = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders:7"
  desired_count   = 2
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
    security_groups  = ["sg-0a1b2c3d4e5f60718"]
    assign_public_ip = false
  }
}
