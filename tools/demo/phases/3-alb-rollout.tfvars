# Phase 3: the legacy ALB forwards 10 %, 50 %, then 100 % of requests to the ECS tasks, behind health gates.
dns_traffic = 0
alb_traffic = 100
