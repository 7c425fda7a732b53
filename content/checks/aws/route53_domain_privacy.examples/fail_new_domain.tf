resource "aws_route53domains_domain" "d" {
  domain_name        = "example.org"
  admin_privacy      = false
  registrant_privacy = false
  tech_privacy       = false
  billing_privacy    = false

  admin_contact {
    contact_type = "PERSON"
    first_name   = "Ana"
    last_name    = "Silva"
    email        = "ana@example.org"
  }

  registrant_contact {
    contact_type = "PERSON"
    first_name   = "Ana"
    last_name    = "Silva"
    email        = "ana@example.org"
  }

  tech_contact {
    contact_type = "PERSON"
    first_name   = "Ana"
    last_name    = "Silva"
    email        = "ana@example.org"
  }
}
