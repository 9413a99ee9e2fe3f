output "active" {
  description = "blue, green or split."
  value       = canary_listener.api.active
}

output "rule_arn" {
  description = "The weighted rule."
  value       = canary_listener.api.rule_arn
}

output "test_rule_arn" {
  description = "The X-Canary rule."
  value       = canary_listener.api.test_rule_arn
}
