variable "legacy_lb_name" {
  description = "Name of the legacy ALB, whose listener gets the canary rules."
  type        = string
}

variable "listener_port" {
  description = "Port of the legacy ALB's listener."
  type        = number
  default     = 443
}

variable "ec2_target_group_name" {
  description = "The legacy EC2 target group (blue)."
  type        = string
}

variable "ecs_target_group_name" {
  description = "The ECS Fargate target group (green), registered on the legacy ALB."
  type        = string
}

variable "host" {
  description = "Host header the rules match, e.g. api.example.com."
  type        = string
}

variable "priority" {
  description = "Priority of the weighted rule; the test route takes priority - 1. Both must be free on the listener."
  type        = number
  default     = 100
}

variable "traffic" {
  description = "Percent of the host's requests forwarded to ECS. Lower it and apply to roll back."
  type        = number
  default     = 0
}

variable "rollout_steps" {
  description = "Intermediate percentages an increase stops at, baking at each."
  type        = list(number)
  default     = [5, 10]
}

variable "bake_time" {
  description = "How long each step bakes while the gate is re-checked."
  type        = string
  default     = "10m"
}

variable "min_healthy_targets" {
  description = "Healthy ECS tasks the gate requires."
  type        = number
  default     = 2
}
