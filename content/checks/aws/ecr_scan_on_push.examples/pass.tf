resource "aws_ecr_repository" "r" {
  name = "orders"
  image_scanning_configuration {
    scan_on_push = true
  }
}
