# A root module after `terraform init`: the registry module's code is in
# .terraform/modules, and its resources carry module addresses.
module "web" {
  source  = "acme/web/aws"
  version = "1.2.0"
  name    = "web"
  open    = true
}
