terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

# With no arguments, credentials and region come from the standard AWS chain:
# environment variables, the shared config and credentials files, SSO,
# container credentials or the instance profile.
provider "bluegreen" {
  region = "eu-west-1"

  # Optional: make every call as a dedicated cutover role
  # (see the least-privilege policy in docs/guides/iam-policy.md).
  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/cutover"
    session_name = "api-cutover"
  }
}
