resource "aws_db_instance" "db" {
  identifier     = "db"
  engine         = "postgres"
  instance_class = "db.t3.micro"
  username       = "app"
  password       = "RA9a9SkpXz9w3QlY7Zkuvqdt"
}
