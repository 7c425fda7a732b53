resource "aws_ecr_repository" "r" {
  name = "orders"
  image_tag_mutability = "MUTABLE"
}
