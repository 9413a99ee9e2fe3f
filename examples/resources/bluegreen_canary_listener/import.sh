# <rule_arn>
terraform import bluegreen_canary_listener.api arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/legacy-alb/0123456789abcdef/0123456789abcdef/0123456789abcdef

# <rule_arn>,<test_rule_arn>
terraform import bluegreen_canary_listener.api arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/legacy-alb/0123456789abcdef/0123456789abcdef/0123456789abcdef,arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/legacy-alb/0123456789abcdef/0123456789abcdef/fedcba9876543210
