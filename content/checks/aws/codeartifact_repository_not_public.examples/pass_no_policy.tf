resource "aws_codeartifact_domain" "d" {
  domain = "example"
}

resource "aws_codeartifact_repository" "r" {
  repository = "app"
  domain     = aws_codeartifact_domain.d.domain
}
