resource "aws_ecs_task_definition" "t" {
  family                = "orders"
  container_definitions = <<JSON
[
  {
    "name": "app",
    "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/orders:1.4.2",
    "essential": true,
    "user": "root"
  }
]
JSON
}
