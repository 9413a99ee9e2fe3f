# Phase 1: adopt the existing record. All answers stay on the legacy ALB.
dns_traffic = 0
