resource "aws_dms_replication_instance" "r" {
  replication_instance_id     = "migrate"
  replication_instance_class  = "dms.t3.medium"
  allocated_storage           = 50
  replication_subnet_group_id = aws_dms_replication_subnet_group.private.id
}
