resource "aws_vpc_endpoint" "s3" {
  vpc_id       = "vpc-0a1b2c3d"
  service_name = "com.amazonaws.us-east-1.s3"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = ["s3:GetObject"]
      Resource  = "arn:aws:s3:::app-artifacts/*"
    }]
  })
}
