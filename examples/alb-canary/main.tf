# ALB canary: on the legacy ALB's listener, forward a share of the requests for
# one host to the ECS target group and the rest to the EC2 one, moving the
# share in steps behind health gates. Requests with "X-Canary: 1" go to ECS
# only, whatever the share, so QA reaches green first through the public name:
#
#   curl -H 'X-Canary: 1' https://api.example.com/
#
#   terraform apply -var traffic=25    # 5 % → 10 % → 25 %, gated
#   terraform apply -var traffic=0     # roll back at once
#   terraform apply -var traffic=100   # finish; destroy then points the listener's default action at ECS

terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

provider "bluegreen" {}

data "bluegreen_load_balancer" "legacy" {
  name = var.legacy_lb_name
}

data "bluegreen_listener" "legacy" {
  load_balancer_arn = data.bluegreen_load_balancer.legacy.arn
  port              = var.listener_port
}

data "bluegreen_target_group" "ec2" {
  name = var.ec2_target_group_name
}

data "bluegreen_target_group" "ecs" {
  name = var.ecs_target_group_name
}

resource "bluegreen_canary_listener" "api" {
  listener_arn = data.bluegreen_listener.legacy.arn
  priority     = var.priority

  match {
    host_header = [var.host]
  }

  blue_target_group_arn  = data.bluegreen_target_group.ec2.arn
  green_target_group_arn = data.bluegreen_target_group.ecs.arn
  traffic                = var.traffic

  # Placed just before the weighted rule (priority - 1).
  test_route {
    header_name   = "X-Canary"
    header_values = ["1"]
  }

  rollout {
    steps     = var.rollout_steps
    bake_time = var.bake_time
  }

  # The green target group is always checked; this sets how many healthy tasks it needs.
  health_gate {
    min_healthy_targets = var.min_healthy_targets
  }

  # At traffic = 100, destroying leaves the rule as a plain forward of this host to ECS and removes the test rule;
  # the listener's default action (other hosts) is untouched.
  on_destroy = "promote"
}
