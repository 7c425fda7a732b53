resource "aws_inspector2_organization_configuration" "o" {
  auto_enable {
    ec2    = true
    ecr    = false
    lambda = true
  }
}
