module "network" {
  source = "git::https://git.example.com/infra/network.git?ref=v3"
}

module "alb" {
  source = "terraform-aws-modules/alb/aws"
}

module "gone" {
  source = "./modules/gone"
}
