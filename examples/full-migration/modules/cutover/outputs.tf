output "alb_active" {
  description = "Who serves on the legacy ALB: blue (EC2), green (ECS) or split."
  value       = bluegreen_canary_listener.this.active
}

output "dns_active" {
  description = "Where the name points: blue (legacy ALB), green (new ALB) or split."
  value       = bluegreen_switch.this.active
}

output "rule_arn" {
  description = "The weighted rule on the legacy listener."
  value       = bluegreen_canary_listener.this.rule_arn
}
