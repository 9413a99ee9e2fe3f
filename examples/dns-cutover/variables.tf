variable "zone_name" {
  description = "The public hosted zone holding the record, e.g. example.com."
  type        = string
}

variable "record_name" {
  description = "The name to cut over, e.g. api.example.com. Today a simple alias to the legacy ALB."
  type        = string
}

variable "legacy_lb_name" {
  description = "Name of the legacy ALB in front of EC2 (blue)."
  type        = string
}

variable "ecs_lb_name" {
  description = "Name of the new ALB in front of ECS Fargate (green)."
  type        = string
}

variable "ecs_target_group_name" {
  description = "Target group of the ECS service behind the new ALB; the health gate needs healthy targets in it."
  type        = string
}

variable "traffic" {
  description = "Percent of answers pointing at green: 0 = all legacy, 100 = all ECS. Lower it and apply to roll back."
  type        = number
  default     = 0
}

variable "rollout_steps" {
  description = "Intermediate percentages an increase stops at, baking at each."
  type        = list(number)
  default     = [10, 25, 50]
}

variable "bake_time" {
  description = "How long each step bakes while the gates are re-checked."
  type        = string
  default     = "10m"
}

variable "min_healthy_targets" {
  description = "Healthy ECS tasks the gate requires."
  type        = number
  default     = 2
}

variable "health_check_url" {
  description = "URL the gate GETs. Defaults to https://<new ALB DNS name>/healthz: green through its own hostname."
  type        = string
  default     = null
}
