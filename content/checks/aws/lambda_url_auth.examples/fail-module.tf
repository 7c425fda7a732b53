# The lambda module's function URL takes no authorization by default.
module "hook" {
  source                     = "terraform-aws-modules/lambda/aws"
  function_name              = "hook"
  handler                    = "index.handler"
  runtime                    = "nodejs20.x"
  create_lambda_function_url = true
}
