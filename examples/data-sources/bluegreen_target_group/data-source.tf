# The new ECS Fargate service's target group.
data "bluegreen_target_group" "ecs" {
  name = "ecs-api"
}

# The number to watch, and to alarm on when it drops below 1.
output "ecs_healthy_targets" {
  value = "${data.bluegreen_target_group.ecs.healthy_count} of ${data.bluegreen_target_group.ecs.total_count} healthy"
}

# Every state AWS reported, e.g. { healthy = 2, initial = 1 }.
output "ecs_target_states" {
  value = data.bluegreen_target_group.ecs.state_counts
}
