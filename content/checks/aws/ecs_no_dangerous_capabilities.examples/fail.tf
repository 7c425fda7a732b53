resource "aws_ecs_task_definition" "orders" {
  family                   = "orders"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  container_definitions    = <<JSON
[
  {
    "name": "app",
    "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/orders:1.4.2",
    "essential": true,
    "linuxParameters": {
      "capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}
    }
  }
]
JSON
}
