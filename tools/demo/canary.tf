# Phase 2 adds this file: a weighted rule on the legacy ALB's listener that splits requests for the public name
# between the EC2 instances (blue) and the ECS tasks (green), and a test route that sends requests carrying
# "X-Canary: 1" to green only, so QA can try green through the production name before any user gets there.

data "bluegreen_listener" "legacy_http" {
  load_balancer_arn = data.bluegreen_load_balancer.legacy.arn
  port              = 80
}

data "bluegreen_target_group" "legacy" {
  name = var.legacy_tg_name
}

data "bluegreen_target_group" "green_via_legacy" {
  name = var.green_via_legacy_tg_name
}

resource "bluegreen_canary_listener" "api" {
  listener_arn = data.bluegreen_listener.legacy_http.arn
  priority     = 100

  # No `match`: the legacy ALB serves this one name, so the weighted rule takes every request on the listener. That is
  # also what lets on_destroy = "promote" hand the listener's default action to green at the end (a canary with a
  # `match` would leave a plain rule for its hosts instead, and the default action alone).

  blue_target_group_arn  = data.bluegreen_target_group.legacy.arn
  green_target_group_arn = data.bluegreen_target_group.green_via_legacy.arn
  traffic                = var.alb_traffic

  test_route {
    header_name   = "X-Canary"
    header_values = ["1"]
  }

  rollout {
    steps     = var.steps
    bake_time = var.bake_time
  }

  # The green target group is always checked; this adds the count and an HTTP check.
  health_gate {
    min_healthy_targets = 2

    http_check {
      url           = var.green_health_url
      host_header   = var.record_name
      expect_status = [200]
      timeout       = "2s"
    }
  }

  # At the end: the legacy listener's default action forwards to green (the rule matched every request), then the
  # rules go.
  on_destroy = "promote"
}
