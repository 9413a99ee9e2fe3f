terraform {
  required_providers {
    bluegreen = { source = "cutover/bluegreen" }
  }
}

data "bluegreen_hosted_zone" "main" { name = "example.com" }
data "bluegreen_load_balancer" "ec2" { name = "legacy-alb" }
data "bluegreen_load_balancer" "ecs" { name = "ecs-alb" }

resource "bluegreen_switch" "api" {
  zone_id        = data.bluegreen_hosted_zone.main.zone_id
  name           = "api.example.com"
  adopt_existing = true # take over today's record in one atomic change
  traffic        = 50   # % of answers for ECS; set 0 and apply to roll back

  blue {
    alias {
      name    = data.bluegreen_load_balancer.ec2.dns_name
      zone_id = data.bluegreen_load_balancer.ec2.zone_id
    }
  }
  green {
    alias {
      name    = data.bluegreen_load_balancer.ecs.dns_name
      zone_id = data.bluegreen_load_balancer.ecs.zone_id
    }
  }
  rollout {
    steps     = [10, 25] # stop and bake at each on the way up
    bake_time = "5m"
  }
}
