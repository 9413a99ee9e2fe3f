#![doc = include_str!("../README.md")]
//!
//! ## Design
//!
//! This crate knows about traffic splits, rollouts, health gates and the AWS
//! services that route traffic (Route 53 and ELBv2). It knows nothing about
//! gRPC or Terraform: the provider crate translates Terraform values into the
//! types here and back again.
//!
//! AWS is reached only through the [`aws::route53::Route53Api`],
//! [`aws::elbv2::Elbv2Api`] and [`aws::cloudwatch::CloudWatchApi`] traits, so every piece of logic above them can be
//! tested with fakes and a virtual clock.
#![warn(missing_docs)]

pub mod aws;
pub mod canary;
pub mod clock;
pub mod cutover;
pub mod dns;
pub mod duration;
pub mod engine;
pub mod error;
pub mod failover;
pub mod gate;
pub mod http_url;
pub mod legacy;
pub mod metric_gate;
pub mod probe;
pub mod readback;
pub mod rollout;
pub mod secret;
pub mod switch;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod traffic;
pub mod verdict;
pub mod zone;

pub use error::{AwsError, AwsErrorKind, ConfigError, ConfigProblem, Error, NotFoundKind, Refusal, Result, Service, Setting};

#[cfg(test)]
mod readme {
    /// The README shows the example program itself, not a sketch of it.
    #[test]
    fn the_readme_shows_the_example_verbatim() {
        let example = include_str!("../examples/move_a_name.rs");
        let block = format!("```rust,no_run\n{example}```");
        assert!(include_str!("../README.md").contains(&block), "core/README.md's code block differs from examples/move_a_name.rs");
    }
}
