# The public zone holding the record to cut over, by name.
data "bluegreen_hosted_zone" "main" {
  name = "example.com"
}

# A private zone of the same name needs private_zone = true.
data "bluegreen_hosted_zone" "internal" {
  name         = "example.com"
  private_zone = true
}

# Or by id; the name is then reported.
data "bluegreen_hosted_zone" "by_id" {
  zone_id = "Z0123456789ABCDEFGHIJ"
}

output "zone" {
  value = {
    id      = data.bluegreen_hosted_zone.main.zone_id
    records = data.bluegreen_hosted_zone.main.record_count
  }
}
