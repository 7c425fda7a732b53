resource "aws_sagemaker_endpoint_configuration" "e" {
  name = "scoring"
  production_variants {
    variant_name           = "primary"
    model_name             = aws_sagemaker_model.m.name
    initial_instance_count = 2
    instance_type          = "ml.m5.large"
  }
}
