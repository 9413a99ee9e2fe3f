# Phase 1: adopt today's DNS record into a blue/green switch, then move DNS from the legacy ALB to the new one.
terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

# Credentials, region and the LocalStack endpoint come from the environment (AWS_ENDPOINT_URL, AWS_REGION, ...).
provider "bluegreen" {}

# The legacy stack is only read, never managed.
data "bluegreen_hosted_zone" "main" {
  name = var.zone_name
}

data "bluegreen_load_balancer" "legacy" {
  name = var.legacy_lb_name
}

data "bluegreen_load_balancer" "new" {
  name = var.new_lb_name
}

data "bluegreen_target_group" "blue" {
  name = var.legacy_tg_name
}

data "bluegreen_target_group" "green" {
  name = var.green_tg_name
}

resource "bluegreen_switch" "api" {
  zone_id = data.bluegreen_hosted_zone.main.zone_id
  name    = var.record_name

  # Replace today's simple record with the weighted pair in one atomic change.
  adopt_existing = true

  blue {
    alias {
      name    = data.bluegreen_load_balancer.legacy.dns_name
      zone_id = data.bluegreen_load_balancer.legacy.zone_id
    }
  }

  green {
    alias {
      name    = data.bluegreen_load_balancer.new.dns_name
      zone_id = data.bluegreen_load_balancer.new.zone_id
    }
  }

  # Percent of answers pointing at green. Lowering it is a rollback, applied at once and never gated.
  traffic = var.dns_traffic

  rollout {
    steps     = var.steps
    bake_time = var.bake_time
  }

  # Checked before the first increase, every check_interval during a bake, and at its end.
  health_gate {
    target_group_arns   = [data.bluegreen_target_group.green.arn]
    min_healthy_targets = 2
    check_interval      = "1s" # "30s" or so in production

    http_check {
      url           = var.green_health_url
      host_header   = var.record_name
      expect_status = [200]
      timeout       = "2s"
    }

    # The alarms the team already pages on: none may be in ALARM.
    cloudwatch_alarms = var.green_alarms

    # What real users get from green: its target group's 5xx over its requests (CloudWatch, AWS/ApplicationELB).
    error_rate {
      green_target_group_arn = data.bluegreen_target_group.green.arn
      blue_target_group_arn  = data.bluegreen_target_group.blue.arn
      window                 = "1m" # "5m" or so in production
      min_requests           = 20
      max_percent            = 1.0
      max_percent_over_blue  = 0.5
    }
  }

  on_gate_failure = "rollback" # back to where this apply started
  on_destroy      = "collapse" # at 100 %: leave one simple record for green
}
