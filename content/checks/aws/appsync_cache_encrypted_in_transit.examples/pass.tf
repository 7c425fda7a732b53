resource "aws_appsync_api_cache" "c" {
  api_id                     = aws_appsync_graphql_api.api.id
  api_caching_behavior       = "FULL_REQUEST_CACHING"
  type                       = "LARGE"
  ttl                        = 900
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
}
