terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

# LocalStack's URL. `make localstack-up` starts it on a free port and prints it;
# `tools/localstack.sh endpoint` prints it again, e.g.
#   terraform plan -var "localstack_url=$(tools/localstack.sh endpoint)"
variable "localstack_url" {
  type        = string
  description = "LocalStack's URL, such as http://127.0.0.1:45135 (the port `make localstack-up` picked)."
}

# LocalStack accepts any credentials. Instead of `endpoints`, setting
# AWS_ENDPOINT_URL to the same URL in the environment does the same.
# Name every service: one left out (cloudwatch, say) goes to real AWS.
provider "bluegreen" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  endpoints {
    route53    = var.localstack_url
    elbv2      = var.localstack_url
    sts        = var.localstack_url
    cloudwatch = var.localstack_url
  }
}
