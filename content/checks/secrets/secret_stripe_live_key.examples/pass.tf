resource "aws_ecs_task_definition" "pay" {
  family = "pay"
  container_definitions = jsonencode([{
    name  = "pay"
    image = "pay:1"
    secrets = [
      { name = "STRIPE_KEY", valueFrom = aws_secretsmanager_secret.stripe.arn },
    ]
  }])
}
