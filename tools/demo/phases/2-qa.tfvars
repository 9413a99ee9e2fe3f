# Phase 2: canary.tf is added. No user request moves; "X-Canary: 1" reaches green.
dns_traffic = 0
alb_traffic = 0
