provider "aws" {
  region  = "us-west-1"
  profile = var.profile
}
