"""ELBv2 for LocalStack community in host mode: every operation is served by moto's elbv2 backend."""
