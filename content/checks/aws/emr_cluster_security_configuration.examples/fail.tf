resource "aws_emr_cluster" "c" {
  name          = "spark"
  release_label = "emr-7.1.0"
  applications  = ["Spark"]
  service_role  = aws_iam_role.emr_service.arn
  ec2_attributes {
    subnet_id        = "subnet-0a1b2c3d4e5f60001"
    instance_profile = aws_iam_instance_profile.emr.arn
  }
  master_instance_group {
    instance_type = "m5.xlarge"
  }
  core_instance_group {
    instance_type  = "m5.xlarge"
    instance_count = 2
  }
}
