resource "aws_instance" "i" {
  ami           = "ami-1"
  instance_type = "t3.micro"
}
