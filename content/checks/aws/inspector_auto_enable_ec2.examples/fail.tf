resource "aws_inspector2_organization_configuration" "o" {
  auto_enable {
    ec2    = false
    ecr    = true
    lambda = true
  }
}
