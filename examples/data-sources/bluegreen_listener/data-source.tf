data "bluegreen_load_balancer" "legacy" {
  name = "legacy-alb"
}

# The legacy ALB's HTTPS listener, where a bluegreen_canary_listener adds its rules.
data "bluegreen_listener" "legacy_https" {
  load_balancer_arn = data.bluegreen_load_balancer.legacy.arn
  port              = 443
}

# What the listener forwards to today (the EC2 target group, usually).
output "legacy_target_groups" {
  value = data.bluegreen_listener.legacy_https.default_target_group_arns
}
