resource "aws_ecs_task_definition" "pay" {
  family = "pay"
  container_definitions = jsonencode([{
    name  = "pay"
    image = "pay:1"
    environment = [
      { name = "STRIPE_KEY", value = "sk_live_h2FDEEtfjgVvVqE1SkHbn88H" },
    ]
  }])
}
