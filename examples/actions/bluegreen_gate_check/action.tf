# "Can we go to the next step?" — `terraform apply -invoke=action.bluegreen_gate_check.api` judges the switch's gate
# as its next increase would (now, and since the step was reached), prints each verdict, and changes nothing.
locals {
  api_gate = {
    alarms = ["api-green-5xx", "api-green-p99"]
  }
}

resource "bluegreen_switch" "api" {
  zone_id = "Z0123456789ABCDEFGHIJ"
  name    = "api.example.com"

  blue {
    alias {
      name    = "legacy-alb-1234567890.eu-west-1.elb.amazonaws.com"
      zone_id = "Z32O12XQLNTSW2"
    }
  }

  green {
    alias {
      name    = "ecs-alb-0987654321.eu-west-1.elb.amazonaws.com"
      zone_id = "Z32O12XQLNTSW2"
    }
  }

  traffic = 25

  health_gate {
    cloudwatch_alarms = local.api_gate.alarms
  }
}

action "bluegreen_gate_check" "api" {
  config {
    switch {
      zone_id = bluegreen_switch.api.zone_id
      name    = bluegreen_switch.api.name
    }

    # The same values as the switch's health_gate (a block cannot be referenced, so both use the local).
    health_gate {
      cloudwatch_alarms = local.api_gate.alarms
    }

    # AWS does not record when a weight was written; the switch's state does.
    since = bluegreen_switch.api.shifted_at
  }
}
