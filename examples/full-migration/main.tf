# A full EC2 → ECS migration of one service, composed in a local module
# (modules/cutover) holding both traffic switches. The legacy stack and the
# new one are only read here, through data sources; they are managed
# elsewhere (or by hand) and this configuration never changes them.
#
#   terraform apply -var alb_traffic=25                    # phase 1: ECS behind the legacy ALB
#   terraform apply -var alb_traffic=100 -var dns_traffic=50
#   terraform apply -var alb_traffic=100 -var dns_traffic=100
#   ... weeks later: terraform destroy (the listener forwards to ECS, the name points at the new ALB)

terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

provider "bluegreen" {}

data "bluegreen_hosted_zone" "main" {
  name = var.zone_name
}

data "bluegreen_load_balancer" "legacy" {
  name = var.legacy_lb_name
}

data "bluegreen_listener" "legacy" {
  load_balancer_arn = data.bluegreen_load_balancer.legacy.arn
  port              = var.legacy_listener_port
}

data "bluegreen_target_group" "ec2" {
  name = var.ec2_target_group_name
}

data "bluegreen_target_group" "ecs_on_legacy_alb" {
  name = var.ecs_on_legacy_alb_target_group_name
}

data "bluegreen_load_balancer" "ecs" {
  name = var.ecs_lb_name
}

data "bluegreen_target_group" "ecs" {
  name = var.ecs_target_group_name
}

module "api" {
  source = "./modules/cutover"

  zone_id = data.bluegreen_hosted_zone.main.zone_id
  name    = var.record_name

  legacy_alb = {
    dns_name     = data.bluegreen_load_balancer.legacy.dns_name
    zone_id      = data.bluegreen_load_balancer.legacy.zone_id
    listener_arn = data.bluegreen_listener.legacy.arn
  }
  ecs_alb = {
    dns_name = data.bluegreen_load_balancer.ecs.dns_name
    zone_id  = data.bluegreen_load_balancer.ecs.zone_id
  }

  ec2_target_group_arn               = data.bluegreen_target_group.ec2.arn
  ecs_on_legacy_alb_target_group_arn = data.bluegreen_target_group.ecs_on_legacy_alb.arn
  ecs_target_group_arn               = data.bluegreen_target_group.ecs.arn

  alb_traffic      = var.alb_traffic
  dns_traffic      = var.dns_traffic
  bake_time        = var.bake_time
  health_check_url = var.health_check_url
}
