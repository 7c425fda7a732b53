resource "aws_imagebuilder_component" "c" {
  name     = "hardening"
  platform = "Linux"
  version  = "1.0.0"
  kms_key_id = aws_kms_key.images.arn
  data = yamlencode({
    schemaVersion = 1.0
    phases = [{
      name = "build"
      steps = [{
        name   = "update"
        action = "ExecuteBash"
        inputs = { commands = ["dnf -y update"] }
      }]
    }]
  })
}
