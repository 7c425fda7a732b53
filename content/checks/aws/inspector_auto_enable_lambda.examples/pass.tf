resource "aws_inspector2_organization_configuration" "o" {
  auto_enable {
    ec2    = true
    ecr    = true
    lambda = true
  }
}
