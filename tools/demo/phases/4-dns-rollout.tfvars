# Phases 4 and 5: DNS answers move to the new ALB: 10 %, 50 %, then 100 %, behind health gates.
dns_traffic = 100
alb_traffic = 100
