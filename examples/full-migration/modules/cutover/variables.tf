variable "zone_id" {
  description = "Hosted zone holding the service's name."
  type        = string
}

variable "name" {
  description = "The service's public name, e.g. api.example.com: the record to switch and the host the ALB rules match."
  type        = string
}

variable "legacy_alb" {
  description = "The legacy ALB: its DNS name and canonical zone id (today's alias target) and the listener that gets the canary rules."
  type = object({
    dns_name     = string
    zone_id      = string
    listener_arn = string
  })
}

variable "ecs_alb" {
  description = "The new ALB in front of ECS: DNS name and canonical zone id."
  type = object({
    dns_name = string
    zone_id  = string
  })
}

variable "ec2_target_group_arn" {
  description = "The EC2 target group on the legacy ALB (blue of the canary)."
  type        = string
}

variable "ecs_on_legacy_alb_target_group_arn" {
  description = "An ECS target group registered on the legacy ALB (green of the canary)."
  type        = string
}

variable "ecs_target_group_arn" {
  description = "The ECS target group behind the new ALB, checked before DNS moves."
  type        = string
}

variable "priority" {
  description = "Priority of the weighted rule on the legacy listener; the X-Canary rule takes priority - 1."
  type        = number
  default     = 100
}

variable "alb_traffic" {
  description = "Percent of the service's requests on the legacy ALB forwarded to ECS."
  type        = number
  default     = 0
}

variable "dns_traffic" {
  description = "Percent of DNS answers pointing at the new ALB."
  type        = number
  default     = 0
}

variable "rollout_steps" {
  description = "Intermediate percentages an increase stops at."
  type        = list(number)
  default     = [10, 25, 50]
}

variable "bake_time" {
  description = "How long each step bakes while the gates are re-checked."
  type        = string
  default     = "10m"
}

variable "min_healthy_targets" {
  description = "Healthy ECS tasks the gates require."
  type        = number
  default     = 2
}

variable "health_check_url" {
  description = "URL the DNS gate GETs; defaults to https://<new ALB DNS name>/healthz."
  type        = string
  default     = null
}
