resource "aws_ssm_parameter" "p" {
  name  = "/app/Stripe_API_Key"
  type  = "String"
  value = var.stripe
}
