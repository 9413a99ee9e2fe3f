# Send 10% of api.example.com requests on the legacy HTTPS listener to the ECS target group,
# and every request with "X-Canary: 1" to ECS only, for QA.
data "bluegreen_load_balancer" "legacy" {
  name = "legacy-alb"
}

data "bluegreen_listener" "legacy_https" {
  load_balancer_arn = data.bluegreen_load_balancer.legacy.arn
  port              = 443
}

data "bluegreen_target_group" "legacy" {
  name = "legacy-ec2"
}

data "bluegreen_target_group" "ecs" {
  name = "ecs-api"
}

resource "bluegreen_canary_listener" "api" {
  listener_arn = data.bluegreen_listener.legacy_https.arn
  priority     = 100

  match {
    host_header = ["api.example.com"]
  }

  blue_target_group_arn  = data.bluegreen_target_group.legacy.arn
  green_target_group_arn = data.bluegreen_target_group.ecs.arn
  traffic                = 10

  test_route {
    header_name   = "X-Canary"
    header_values = ["1"]
  }

  rollout {
    steps     = [5]
    bake_time = "10m"
  }

  health_gate {
    min_healthy_targets = 1
  }

  # At the end: traffic = 100, then destroy points the listener's default action at green.
  on_destroy = "promote"
}
