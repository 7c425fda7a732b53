resource "aws_memorydb_cluster" "c" {
  name                   = "sessions"
  acl_name               = aws_memorydb_acl.app.name
  node_type              = "db.r6g.large"
  num_shards             = 2
  num_replicas_per_shard = 1
  subnet_group_name      = aws_memorydb_subnet_group.private.name
  kms_key_arn = aws_kms_key.memorydb.arn
}
