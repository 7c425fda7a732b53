resource "aws_db_instance" "db" {
  identifier     = "db"
  engine         = "postgres"
  instance_class = "db.t3.micro"
  username       = "app"
  password       = random_password.db.result
}
