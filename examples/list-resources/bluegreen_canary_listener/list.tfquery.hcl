# In a file ending in .tfquery.hcl: `terraform query` lists the weighted forward rules of the legacy HTTPS listener,
# each with its header test rule where one exists; -generate-config-out writes a bluegreen_canary_listener and an
# import block for each (fill in the test route's header_values: Terraform writes `null # sensitive` for a secret).
list "bluegreen_canary_listener" "legacy_https" {
  provider = bluegreen
  limit    = 20

  config {
    listener_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/legacy-alb/0123456789abcdef/0123456789abcdef"
  }
}
