resource "aws_appsync_graphql_api" "api" {
  name                = "orders"
  authentication_type = "AWS_IAM"
}
