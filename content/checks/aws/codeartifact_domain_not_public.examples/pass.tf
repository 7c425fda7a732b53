resource "aws_codeartifact_domain" "d" {
  domain = "example"
}

resource "aws_codeartifact_domain_permissions_policy" "d" {
  domain          = aws_codeartifact_domain.d.domain
  policy_document = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Principal = "*", Action = ["codeartifact:GetAuthorizationToken", "codeartifact:ReadFromRepository"], Resource = "*", Condition = {StringEquals = {"aws:PrincipalOrgID" = "o-exampleorgid"}}}]})
}
