# memcached over UDP is an amplification source.
resource "aws_security_group" "s" {
  name = "cache"
  ingress {
    from_port        = 11211
    to_port          = 11211
    protocol         = "udp"
    ipv6_cidr_blocks = ["::/0"]
  }
}
