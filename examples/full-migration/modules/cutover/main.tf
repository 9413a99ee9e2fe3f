# One service's whole cutover from EC2 behind the legacy ALB to ECS Fargate:
#
#   1. alb_traffic: on the legacy ALB, a weighted rule moves the service's
#      requests from the EC2 target group to an ECS target group registered on
#      the same ALB. DNS is untouched; "X-Canary: 1" reaches ECS at any share.
#   2. dns_traffic: a weighted Route 53 pair moves the name from the legacy
#      ALB to the new ALB in front of ECS.
#
# Both move in gated steps inside `terraform apply`; lowering either number
# and applying again is the rollback.

terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

resource "bluegreen_canary_listener" "this" {
  listener_arn = var.legacy_alb.listener_arn
  priority     = var.priority

  match {
    host_header = [var.name]
  }

  blue_target_group_arn  = var.ec2_target_group_arn
  green_target_group_arn = var.ecs_on_legacy_alb_target_group_arn
  traffic                = var.alb_traffic

  test_route {
    header_name   = "X-Canary"
    header_values = ["1"]
  }

  rollout {
    steps     = var.rollout_steps
    bake_time = var.bake_time
  }

  health_gate {
    min_healthy_targets = var.min_healthy_targets
  }

  # At 100 %: the rule stays as a plain forward of the name to ECS; the default action is untouched.
  on_destroy = "promote"
}

resource "bluegreen_switch" "this" {
  zone_id        = var.zone_id
  name           = var.name
  adopt_existing = true

  blue {
    alias {
      name    = var.legacy_alb.dns_name
      zone_id = var.legacy_alb.zone_id
    }
  }

  green {
    alias {
      name    = var.ecs_alb.dns_name
      zone_id = var.ecs_alb.zone_id
    }
  }

  traffic = var.dns_traffic

  rollout {
    steps     = var.rollout_steps
    bake_time = var.bake_time
  }

  health_gate {
    target_group_arns   = [var.ecs_target_group_arn]
    min_healthy_targets = var.min_healthy_targets

    http_check {
      url         = coalesce(var.health_check_url, "https://${var.ecs_alb.dns_name}/healthz")
      host_header = var.name
    }
  }

  on_destroy = "collapse"
}
