# The module blocks public access by default.
module "data" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "~> 4.0"
  bucket  = "acme-data"
}
