# In a file ending in .tfquery.hcl, beside the configuration: `terraform query` lists the weighted pairs of the zone
# whose names start with "api" and have one side on the legacy ALB (that side is blue);
# `terraform query -generate-config-out=generated.tf` writes a bluegreen_switch and an import block for each.
list "bluegreen_switch" "legacy_pairs" {
  provider = bluegreen

  config {
    zone_id     = "Z0123456789ABCDEFGHIJ"
    name_regex  = "^api"
    pointing_at = "legacy-alb-1234567890.eu-west-1.elb.amazonaws.com"
  }
}
