resource "aws_rds_cluster" "c" {
  cluster_identifier = "orders"
  engine             = "aurora-mysql"
}

resource "aws_db_instance" "member" {
  identifier         = "orders-1"
  cluster_identifier = aws_rds_cluster.c.id
  storage_encrypted  = true
}

resource "aws_db_instance" "elsewhere" {
  identifier         = "reports-1"
  cluster_identifier = "reports"
}

resource "aws_s3_bucket_public_access_block" "shared" {
  bucket                  = "acme-shared"
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "shared" {
  bucket = "acme-shared"
  policy = data.aws_iam_policy_document.shared.json
}

data "aws_iam_policy_document" "shared" {
  statement {
    not_actions = ["s3:GetObject"]
    resources   = ["arn:aws:s3:::acme-shared/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
    condition {
      test     = "IpAddress"
      variable = "aws:SourceIp"
      values   = ["192.0.2.0/24"]
    }
  }
}
