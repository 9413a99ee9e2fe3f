# The stacks the demo's fixtures created (tools/demo/fixtures.py). tools/demo.sh writes them to
# fixture.auto.tfvars.json in the demo's working directory.

variable "zone_name" {
  description = "Public hosted zone, e.g. example.com."
  type        = string
}

variable "record_name" {
  description = "The public name whose traffic moves, e.g. api.example.com."
  type        = string
}

variable "legacy_lb_name" {
  description = "The legacy ALB (blue), in front of EC2."
  type        = string
}

variable "legacy_tg_name" {
  description = "The legacy ALB's target group of EC2 instances (blue)."
  type        = string
}

variable "new_lb_name" {
  description = "The new ALB (green), in front of ECS Fargate."
  type        = string
}

variable "green_tg_name" {
  description = "The new ALB's target group of ECS tasks."
  type        = string
}

variable "green_via_legacy_tg_name" {
  description = "The same ECS tasks in a target group the legacy ALB can forward to."
  type        = string
}

variable "green_alarms" {
  description = "CloudWatch alarms on the new service that must not be in ALARM for traffic to move to it."
  type        = list(string)
}

variable "green_health_url" {
  description = "Green's health endpoint, checked by the health gates (stands in for https://<new ALB>/healthz)."
  type        = string
}

# What each phase changes (tools/demo/phases/*.tfvars).

variable "dns_traffic" {
  description = "Percent of DNS answers for record_name that point at the new ALB."
  type        = number
  default     = 0
}

variable "alb_traffic" {
  description = "Percent of the legacy ALB's requests for record_name forwarded to the ECS tasks."
  type        = number
  default     = 0
}

variable "steps" {
  description = "Rollout steps (percent to green) an increase stops at."
  type        = list(number)
  default     = [10, 50]
}

variable "bake_time" {
  description = "How long each step bakes before the health gate is checked again. Minutes in production; seconds here."
  type        = string
  default     = "2s"
}
