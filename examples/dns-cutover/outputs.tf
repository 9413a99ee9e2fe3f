# These are the values of the state. Terraform does not update outputs when an apply
# fails, so after a gate failure rolls traffic back, `terraform output` still shows
# the split the failed apply planned until the next refresh or apply:
#   terraform apply -refresh-only   # then `terraform output` shows what Route 53 answers
# The error of the failed apply says where traffic really is.
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
