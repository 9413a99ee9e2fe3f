output "alb_active" {
  description = "Who serves on the legacy ALB: blue (EC2), green (ECS) or split."
  value       = module.api.alb_active
}

output "dns_active" {
  description = "Where the name points: blue (legacy ALB), green (new ALB) or split."
  value       = module.api.dns_active
}
