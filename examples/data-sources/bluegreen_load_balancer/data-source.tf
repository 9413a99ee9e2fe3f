# The legacy ALB in front of EC2 (blue) and the new one in front of ECS (green).
data "bluegreen_load_balancer" "legacy" {
  name = "legacy-alb"
}

data "bluegreen_load_balancer" "ecs" {
  arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/ecs-alb/0123456789abcdef"
}

# dns_name and zone_id are what an alias record (a bluegreen_switch side) needs;
# dns_name is also green's own hostname for a health check before any user reaches it.
output "green_alias" {
  value = {
    name    = data.bluegreen_load_balancer.ecs.dns_name
    zone_id = data.bluegreen_load_balancer.ecs.zone_id
  }
}
