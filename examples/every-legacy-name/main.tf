# Every name that still points at the legacy ALB, moved to the ECS ALB by one for_each: no list of names to keep by
# hand. Guide: docs/guides/every-legacy-name.md.
terraform {
  required_providers {
    bluegreen = { source = "cutover/bluegreen" }
  }
}

data "bluegreen_hosted_zone" "main" {
  name = var.zone_name
}

data "bluegreen_load_balancer" "legacy" {
  name = var.legacy_lb_name
}

data "bluegreen_load_balancer" "ecs" {
  name = var.ecs_lb_name
}

# The record sets that alias the legacy ALB.
data "bluegreen_records" "legacy" {
  zone_id      = data.bluegreen_hosted_zone.main.zone_id
  alias_target = data.bluegreen_load_balancer.legacy.dns_name
}

locals {
  # One switch per name and type. Before the cutover a name's record is simple; once its switch has adopted it, the
  # name holds a weighted pair whose blue side (set identifier "blue") still aliases the legacy ALB, so the key stays
  # and the switch is kept. Records with other routing (latency, failover, …) are left alone.
  names = {
    for r in data.bluegreen_records.legacy.records : "${r.name}/${r.type}" => r
    if r.routing == "simple" || r.set_identifier == "blue"
  }
}

resource "bluegreen_switch" "all" {
  for_each = local.names

  zone_id        = data.bluegreen_hosted_zone.main.zone_id
  name           = each.value.name
  type           = each.value.type
  adopt_existing = true # take over today's record in one atomic change
  traffic        = lookup(var.traffic, each.value.name, var.default_traffic)

  blue {
    alias {
      name    = data.bluegreen_load_balancer.legacy.dns_name
      zone_id = data.bluegreen_load_balancer.legacy.zone_id
    }
  }
  green {
    alias {
      name    = data.bluegreen_load_balancer.ecs.dns_name
      zone_id = data.bluegreen_load_balancer.ecs.zone_id
    }
  }

  rollout {
    steps     = var.rollout_steps
    bake_time = var.bake_time
  }
}
