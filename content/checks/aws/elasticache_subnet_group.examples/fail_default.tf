resource "aws_elasticache_replication_group" "r" {
  replication_group_id = "sessions"
  description          = "session store"
  engine               = "redis"
  node_type            = "cache.t4g.small"
  num_cache_clusters   = 2
  subnet_group_name = "default"
}
