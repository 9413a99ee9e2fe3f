output "switched" {
  description = "Per name and type: the share of answers on green, and which side is active."
  value       = { for k, s in bluegreen_switch.all : k => { traffic = s.traffic, active = s.active } }
}
