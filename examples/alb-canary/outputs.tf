output "active" {
  description = "blue, green or split."
  value       = bluegreen_canary_listener.api.active
}

output "rule_arn" {
  description = "The weighted rule."
  value       = bluegreen_canary_listener.api.rule_arn
}

output "test_rule_arn" {
  description = "The X-Canary rule."
  value       = bluegreen_canary_listener.api.test_rule_arn
}
