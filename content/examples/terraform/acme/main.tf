# Acme's production account, as its platform team wrote it: mostly careful, with the mistakes a busy
# team makes. parapet demo scans it; try: parapet scan iac parapet-demo/terraform
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "env" {
  default = "prod"
}

locals {
  prefix = "acme-${var.env}"
}

resource "aws_s3_account_public_access_block" "account" {
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket" "customer_data" {
  bucket = "${local.prefix}-customer-data"
}

resource "aws_s3_bucket_public_access_block" "customer_data" {
  bucket                  = aws_s3_bucket.customer_data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "customer_data" {
  bucket = aws_s3_bucket.customer_data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
  }
}

resource "aws_s3_bucket_versioning" "customer_data" {
  bucket = aws_s3_bucket.customer_data.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "customer_data" {
  bucket        = aws_s3_bucket.customer_data.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "customer-data/"
}

# parapet:ignore PARAPET-S3-006 the access-log bucket does not log to itself
resource "aws_s3_bucket" "logs" {
  bucket = "${local.prefix}-access-logs"
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# The marketing site: somebody made it public the quick way.
resource "aws_s3_bucket" "website" {
  bucket = "${local.prefix}-website"
}

resource "aws_s3_bucket_policy" "website" {
  bucket = aws_s3_bucket.website.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "PublicRead"
      Effect    = "Allow"
      Principal = "*"
      Action    = "s3:GetObject"
      Resource  = "arn:aws:s3:::${local.prefix}-website/*"
    }]
  })
}

resource "aws_kms_key" "data" {
  description         = "customer data"
  enable_key_rotation = true
}

resource "aws_kms_key" "backups" {
  description = "backups"
}

resource "aws_cloudtrail" "main" {
  name                       = "${local.prefix}-trail"
  s3_bucket_name             = aws_s3_bucket.logs.id
  enable_log_file_validation = true
  kms_key_id                 = aws_kms_key.data.arn
  cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.trail.arn}:*"
  cloud_watch_logs_role_arn  = aws_iam_role.trail_logs.arn
}

resource "aws_cloudwatch_log_group" "trail" {
  name              = "${local.prefix}-cloudtrail"
  retention_in_days = 365
}

resource "aws_iam_role" "trail_logs" {
  name = "${local.prefix}-cloudtrail-logs"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "cloudtrail.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

# CIS 4.3: every use of the root user raises an alarm.
resource "aws_cloudwatch_log_metric_filter" "root_usage" {
  name           = "root-usage"
  log_group_name = aws_cloudwatch_log_group.trail.name
  pattern        = "{ $.userIdentity.type = \"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != \"AwsServiceEvent\" }"
  metric_transformation {
    name      = "RootUsage"
    namespace = "Security"
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "root_usage" {
  alarm_name          = "root-usage"
  metric_name         = "RootUsage"
  namespace           = "Security"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  alarm_actions       = ["arn:aws:sns:eu-west-1:111122223333:security-oncall"]
}

resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
}

resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_flow_log" "main" {
  vpc_id               = aws_vpc.main.id
  traffic_type         = "ALL"
  log_destination      = "arn:aws:s3:::${local.prefix}-flow-logs"
  log_destination_type = "s3"
}

resource "aws_db_instance" "orders" {
  identifier              = "${local.prefix}-orders"
  engine                  = "postgres"
  instance_class          = "db.t3.medium"
  storage_encrypted       = true
  backup_retention_period = 14
  publicly_accessible     = false
}

resource "aws_iam_account_password_policy" "strict" {
  minimum_password_length   = 12
  password_reuse_prevention = 24
  require_symbols           = true
  require_numbers           = true
}

resource "aws_iam_policy" "ops" {
  name = "ops"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["ec2:*"], Resource = "*" }]
  })
}

resource "aws_guardduty_detector" "main" {
  enable = true
}

resource "aws_ebs_encryption_by_default" "on" {
  enabled = true
}

module "web" {
  source    = "./modules/web"
  vpc_id    = aws_vpc.main.id
  admin_ssh = true
}
