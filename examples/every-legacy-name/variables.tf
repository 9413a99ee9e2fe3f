variable "zone_name" {
  description = "The public hosted zone holding the names, e.g. example.com."
  type        = string
}

variable "legacy_lb_name" {
  description = "Name of the legacy ALB in front of EC2 (blue): every name aliasing it is moved."
  type        = string
}

variable "ecs_lb_name" {
  description = "Name of the new ALB in front of ECS Fargate (green)."
  type        = string
}

variable "default_traffic" {
  description = "Percent of answers pointing at green for every name not listed in traffic."
  type        = number
  default     = 0
}

variable "traffic" {
  description = "Percent of answers pointing at green, per name (e.g. { \"api.example.com\" = 50 }); others get default_traffic."
  type        = map(number)
  default     = {}
}

variable "rollout_steps" {
  description = "Intermediate percentages an increase stops at, baking at each."
  type        = list(number)
  default     = [10, 25, 50]
}

variable "bake_time" {
  description = "How long each step bakes."
  type        = string
  default     = "5m"
}
