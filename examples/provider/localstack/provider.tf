terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

# LocalStack accepts any credentials. Instead of `endpoints`, setting
# AWS_ENDPOINT_URL=http://127.0.0.1:4566 in the environment does the same.
provider "bluegreen" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  endpoints {
    route53 = "http://127.0.0.1:4566"
    elbv2   = "http://127.0.0.1:4566"
    sts     = "http://127.0.0.1:4566"
  }
}
