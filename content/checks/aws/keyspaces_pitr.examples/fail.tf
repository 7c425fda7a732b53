resource "aws_keyspaces_table" "t" {
  keyspace_name = "shop"
  table_name    = "orders"
  schema_definition {
    column {
      name = "id"
      type = "text"
    }
    partition_key {
      name = "id"
    }
  }
}
