output "active" {
  description = "blue, green or split."
  value       = bluegreen_switch.api.active
}

output "weights" {
  description = "The weights Route 53 holds, blue and green."
  value = {
    blue  = bluegreen_switch.api.blue_weight
    green = bluegreen_switch.api.green_weight
  }
}
