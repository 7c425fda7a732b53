# Before 3.9.0 the s3-bucket module left public access unblocked by default.
module "site" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "3.8.2"
  bucket  = "acme-site"
}
