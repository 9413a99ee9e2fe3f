# Move api.example.com from the legacy ALB (blue) to the new ECS ALB (green) in steps, behind health gates.
data "bluegreen_hosted_zone" "main" {
  name = "example.com"
}

data "bluegreen_load_balancer" "legacy" {
  name = "legacy-alb"
}

data "bluegreen_load_balancer" "ecs" {
  name = "ecs-alb"
}

data "bluegreen_target_group" "ecs" {
  name = "ecs-api"
}

resource "bluegreen_switch" "api" {
  zone_id = data.bluegreen_hosted_zone.main.zone_id
  name    = "api.example.com"

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

  # 0 = all blue, 100 = all green. Rolling back is setting a lower number and applying.
  traffic = 50

  rollout {
    steps     = [10, 25]
    bake_time = "5m"
  }

  health_gate {
    target_group_arns   = [data.bluegreen_target_group.ecs.arn]
    min_healthy_targets = 1

    http_check {
      url           = "https://${data.bluegreen_load_balancer.ecs.dns_name}/healthz"
      host_header   = "api.example.com"
      expect_status = [200]
    }
  }

  # Replace the existing simple record in one atomic change.
  adopt_existing = true
}
