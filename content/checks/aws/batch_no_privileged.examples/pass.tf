resource "aws_batch_job_definition" "j" {
  name = "etl"
  type = "container"
  container_properties = jsonencode({
    image   = "111122223333.dkr.ecr.us-east-1.amazonaws.com/etl:1.4"
    command = ["run"]
    resourceRequirements = [
      { type = "VCPU", value = "1" },
      { type = "MEMORY", value = "2048" }
    ]
  })
}
