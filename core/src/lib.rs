//! The cutover engine behind `terraform-provider-bluegreen`.
//!
//! This crate knows about traffic splits, rollouts, health gates and the AWS
//! services that route traffic (Route 53 and ELBv2). It knows nothing about
//! gRPC or Terraform: the provider crate translates Terraform values into the
//! types here and back again.
//!
//! AWS is reached only through the [`aws::route53::Route53Api`],
//! [`aws::elbv2::Elbv2Api`] and [`aws::cloudwatch::CloudWatchApi`] traits, so every piece of logic above them can be
//! tested with fakes and a virtual clock.

pub mod aws;
pub mod canary;
pub mod cutover;
pub mod dns;
pub mod duration;
pub mod engine;
pub mod error;
pub mod gate;
pub mod http_url;
pub mod legacy;
pub mod listeners;
pub mod metric_gate;
pub mod probe;
pub mod readback;
pub mod rollout;
pub mod secret;
pub mod switch;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod traffic;
pub mod watch;
pub mod zone;

pub use error::{AwsError, AwsErrorKind, Error, Refusal, Result};
