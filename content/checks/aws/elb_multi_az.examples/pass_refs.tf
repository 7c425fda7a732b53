resource "aws_subnet" "a" {
  vpc_id            = "vpc-0a1b2c3d"
  cidr_block        = "10.0.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_subnet" "b" {
  vpc_id            = "vpc-0a1b2c3d"
  cidr_block        = "10.0.2.0/24"
  availability_zone = "us-east-1b"
}

resource "aws_lb" "web" {
  name    = "web"
  subnets = [aws_subnet.a.id, aws_subnet.b.id]
}
