# DNS cutover: move api.example.com from the legacy ALB (EC2, blue) to the new
# ALB (ECS Fargate, green) with a weighted Route 53 pair, in steps behind
# health gates. The legacy stack is only read, never managed.
#
#   terraform apply -var traffic=50    # adopt the record, then 10 % → 25 % → 50 %, gated
#   terraform apply -var traffic=0     # roll back: straight to all blue, never gated
#   terraform apply -var traffic=100   # finish; destroy later collapses to one record for green

terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

# Region and credentials from the AWS chain (AWS_REGION, AWS_PROFILE, …).
provider "bluegreen" {}

data "bluegreen_hosted_zone" "main" {
  name = var.zone_name
}

data "bluegreen_load_balancer" "legacy" {
  name = var.legacy_lb_name
}

data "bluegreen_load_balancer" "ecs" {
  name = var.ecs_lb_name
}

data "bluegreen_target_group" "ecs" {
  name = var.ecs_target_group_name
}

locals {
  # Green through its own hostname, before any user reaches it: the new ALB's
  # DNS name, with the public name as Host so WAF and host rules match.
  health_check_url = coalesce(var.health_check_url, "https://${data.bluegreen_load_balancer.ecs.dns_name}/healthz")
}

resource "bluegreen_switch" "api" {
  zone_id = data.bluegreen_hosted_zone.main.zone_id
  name    = var.record_name

  # Replace today's simple alias to the legacy ALB with the weighted pair in
  # one atomic change: the name never goes without an answer.
  adopt_existing = true

  blue {
    alias {
      name    = data.bluegreen_load_balancer.legacy.dns_name
      zone_id = data.bluegreen_load_balancer.legacy.zone_id
    }
  }

  green {
    alias {
      name    = data.bluegreen_load_balancer.ecs.dns_name
      zone_id = data.bluegreen_load_balancer.ecs.zone_id
    }
  }

  traffic = var.traffic

  rollout {
    steps     = var.rollout_steps
    bake_time = var.bake_time
  }

  health_gate {
    target_group_arns   = [data.bluegreen_target_group.ecs.arn]
    min_healthy_targets = var.min_healthy_targets

    http_check {
      url           = local.health_check_url
      host_header   = var.record_name
      expect_status = [200]
      # The certificate is checked against host_header (the TLS server name), not the ALB's own name.
    }
  }

  on_gate_failure = "rollback"
  on_destroy      = "collapse"
}
