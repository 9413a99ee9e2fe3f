data "bluegreen_hosted_zone" "main" {
  name = "example.com"
}

data "bluegreen_load_balancer" "legacy" {
  name = "legacy-alb"
}

# Every record set of the zone that is an alias to the legacy ALB (case, a trailing dot and a
# "dualstack." prefix do not matter), with its name, type, TTL and routing.
data "bluegreen_records" "on_legacy" {
  zone_id      = data.bluegreen_hosted_zone.main.zone_id
  alias_target = data.bluegreen_load_balancer.legacy.dns_name
}

# Or the record sets answering with given values, e.g. an old fleet's addresses or a CNAME's target.
data "bluegreen_records" "on_old_ips" {
  zone_id = data.bluegreen_hosted_zone.main.zone_id
  values  = ["192.0.2.10", "192.0.2.11"]
}

output "names_still_on_legacy" {
  value = distinct([for r in data.bluegreen_records.on_legacy.records : r.name])
}
