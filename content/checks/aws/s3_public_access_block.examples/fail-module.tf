# The public s3-bucket module without its code (no terraform init): read
# from its inputs.
module "site" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "~> 4.0"
  bucket  = "acme-site"

  block_public_policy     = false
  restrict_public_buckets = false
}
