data "bluegreen_hosted_zone" "main" {
  name = "example.com"
}

# The record as it is before the cutover: a simple alias to the legacy ALB.
# Once a bluegreen_switch has adopted the name it holds a weighted pair, and a
# read without set_identifier fails as ambiguous: read one side by its set_identifier.
data "bluegreen_record" "api" {
  zone_id = data.bluegreen_hosted_zone.main.zone_id
  name    = "api.example.com"
  type    = "A"
}

output "api_today" {
  value = {
    policy = data.bluegreen_record.api.routing_policy
    alias  = data.bluegreen_record.api.alias
  }
}
