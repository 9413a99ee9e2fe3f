# Reads a legacy stack (ALB in front of EC2, a simple alias record) without managing any of it.
terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

variable "zone_name" {
  description = "The public hosted zone, e.g. example.com."
  type        = string
}

variable "record_name" {
  description = "The legacy record, e.g. api.example.com."
  type        = string
}

variable "legacy_lb_name" {
  description = "Name of the legacy ALB."
  type        = string
}

provider "bluegreen" {}

data "bluegreen_hosted_zone" "main" {
  name = var.zone_name
}

data "bluegreen_load_balancer" "legacy" {
  name = var.legacy_lb_name
}

data "bluegreen_listener" "legacy_http" {
  load_balancer_arn = data.bluegreen_load_balancer.legacy.arn
  port              = 80
}

data "bluegreen_target_group" "legacy" {
  arn = data.bluegreen_listener.legacy_http.default_target_group_arns[0]
}

data "bluegreen_record" "api" {
  zone_id = data.bluegreen_hosted_zone.main.zone_id
  name    = var.record_name
  type    = "A"
}

output "zone_id" {
  value = data.bluegreen_hosted_zone.main.zone_id
}

output "legacy_alb" {
  value = {
    dns_name  = data.bluegreen_load_balancer.legacy.dns_name
    zone_id   = data.bluegreen_load_balancer.legacy.zone_id
    listeners = data.bluegreen_load_balancer.legacy.listener_arns
  }
}

output "legacy_targets" {
  value = {
    healthy = data.bluegreen_target_group.legacy.healthy_count
    total   = data.bluegreen_target_group.legacy.total_count
  }
}

output "api_record" {
  value = {
    policy = data.bluegreen_record.api.routing_policy
    alias  = data.bluegreen_record.api.alias
  }
}
