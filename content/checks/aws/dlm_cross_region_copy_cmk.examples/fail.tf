resource "aws_dlm_lifecycle_policy" "p" {
  description        = "daily volume snapshots"
  execution_role_arn = "arn:aws:iam::111122223333:role/dlm"
  state              = "ENABLED"

  policy_details {
    resource_types = ["VOLUME"]
    target_tags = {
      Snapshot = "true"
    }

    schedule {
      name = "daily"

      create_rule {
        interval      = 24
        interval_unit = "HOURS"
        times         = ["03:00"]
      }

      retain_rule {
        count = 7
      }

      cross_region_copy_rule {
        target    = "us-west-2"
        encrypted = false

        retain_rule {
          interval      = 30
          interval_unit = "DAYS"
        }
      }
    }
  }
}
