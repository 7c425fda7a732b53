resource "aws_codeartifact_domain" "d" {
  domain = "example"
}

resource "aws_codeartifact_repository" "r" {
  repository = "app"
  domain     = aws_codeartifact_domain.d.domain
}

resource "aws_codeartifact_repository_permissions_policy" "r" {
  repository      = aws_codeartifact_repository.r.repository
  domain          = aws_codeartifact_domain.d.domain
  policy_document = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Principal = "*", Action = ["codeartifact:GetAuthorizationToken", "codeartifact:ReadFromRepository"], Resource = "*"}]})
}
