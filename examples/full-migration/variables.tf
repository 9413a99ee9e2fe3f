variable "zone_name" {
  description = "The public hosted zone, e.g. example.com."
  type        = string
}

variable "record_name" {
  description = "The service's name, e.g. api.example.com: today a simple alias to the legacy ALB."
  type        = string
}

variable "legacy_lb_name" {
  description = "Name of the legacy ALB in front of EC2."
  type        = string
}

variable "legacy_listener_port" {
  description = "Port of the legacy ALB's listener that serves the name."
  type        = number
  default     = 443
}

variable "ec2_target_group_name" {
  description = "The EC2 target group on the legacy ALB."
  type        = string
}

variable "ecs_on_legacy_alb_target_group_name" {
  description = "The ECS service's target group on the legacy ALB (an ECS service can register with several)."
  type        = string
}

variable "ecs_lb_name" {
  description = "Name of the new ALB in front of ECS."
  type        = string
}

variable "ecs_target_group_name" {
  description = "The ECS service's target group behind the new ALB."
  type        = string
}

variable "alb_traffic" {
  description = "Phase 1: percent of the name's requests on the legacy ALB forwarded to ECS."
  type        = number
  default     = 0
}

variable "dns_traffic" {
  description = "Phase 2: percent of DNS answers pointing at the new ALB."
  type        = number
  default     = 0
}

variable "bake_time" {
  description = "How long each rollout step bakes."
  type        = string
  default     = "10m"
}

variable "health_check_url" {
  description = "URL the DNS gate GETs; defaults to https://<new ALB DNS name>/healthz."
  type        = string
  default     = null
}
