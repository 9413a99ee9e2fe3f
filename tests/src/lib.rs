//! Harness for the acceptance tests: the real `terraform` CLI driving this
//! build of the provider against LocalStack. `make testacc` runs the suites
//! with Terraform 1.15.5 and 1.0.3 (and some with 1.6.6), one version per run
//! (`BLUEGREEN_TERRAFORM`); [`TestEnv::terraform_version`] says which one runs,
//! for the few places where versions truly differ.
//!
//! In the spirit of ripgrep's test helper, every test gets its own
//! [`Workdir`] (a temporary directory with its own CLI config, `HOME` and
//! state) and runs terraform in it with a clean, explicit environment, so
//! tests can run in parallel and nothing from the developer's machine (an
//! `~/.aws` profile, `TF_LOG`, a plugin cache) leaks in.
//!
//! AWS objects the configurations look up are created with the AWS SDK for
//! Rust by [`fixture`]. LocalStack's state is shared by every test of a run
//! (and by later runs against the same instance), so fixtures take a
//! [`unique_suffix`] and every name derived from it is unique.
//!
//! To count the provider's AWS calls or inject faults into them (throttling,
//! 5xx, resets, delays), send its traffic through a [`proxy::Proxy`] with
//! [`Workdir::with_proxy`].
//!
//! Terraform's diagnostics are read into [`Diagnostic`]s: from its JSON
//! output for `-json` commands ([`Workdir::plan_json_output`],
//! [`Workdir::validate_json_output`]; summary, detail, address, source range
//! and quoted line), else from its human output, which tests that assert on
//! plan text keep. Bad-input cases go through one harness, [`bad_input`].
//!
//! Nothing is skipped silently: if terraform, the provider build or
//! LocalStack is missing, the tests panic and say to run `make testacc`.

pub mod bad_input;
mod diagnostics;
mod env;
pub mod fixture;
mod output;
pub mod proxy;
mod status_server;
mod workdir;

pub use diagnostics::{debug_dumps, Diagnostic, Range, Severity, Snippet, DEBUG_DUMPS};
pub use env::{
    aws, block_on, test_env, unique_suffix, AwsClients, TerraformVersion, TestEnv, COMMAND_TIMEOUT, PROVIDER_ADDRESS, PROVIDER_BINARY,
    PROVIDER_SOURCE, REGION,
};
pub use output::{collapse_ws, line_of, Output};
pub use status_server::{StatusServer, TestCa};
pub use workdir::{Workdir, VERSIONS_TF};

/// A table of tests: `name => case;` becomes `#[test] fn name()` calling the
/// invoking file's `check(stringify!(name), case)`; attributes before a name
/// (`#[ignore]`, a doc comment) go on its test.
#[macro_export]
macro_rules! cases {
    ($($(#[$attr:meta])* $name:ident => $case:expr;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check(stringify!($name), $case);
            }
        )*
    };
}

/// Seconds since the epoch of an RFC 3339 UTC time as the provider writes it (`2026-12-07T21:14:14Z`).
#[track_caller]
pub fn epoch_secs(t: &serde_json::Value) -> i64 {
    let t = t.as_str().unwrap_or_else(|| panic!("not a time: {t}"));
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap_or_else(|_| panic!("not RFC 3339: {t}"));
    assert!(t.len() == 20 && t.ends_with('Z'), "not RFC 3339 UTC to the second: {t}");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}
