//! Provider logs reach terraform's log (`TF_LOG`), and credentials never do.
//!
//! The provider writes hclog JSON lines on stderr; terraform 1.0.3 re-logs
//! each at its level, named after the plugin binary, with the JSON fields as
//! `key=value` pairs:
//!
//! ```text
//! 2026-11-22T11:18:30.952Z [DEBUG] provider.terraform-provider-bluegreen: reading data source: @module=provider.bluegreen data_source=bluegreen_hosted_zone target=bluegreen_provider::server timestamp=…
//! ```

use bluegreen_acceptance::{fixture, unique_suffix, Output, Workdir};

const ACCESS_KEY: &str = "AKIATESTDISTINCTIVE1";
const SECRET_KEY: &str = "SeCrEtDiStInCtIvE0123456789abcdefGHIJKLMN";

/// Lines terraform logged on behalf of our provider.
fn provider_lines(out: &Output) -> Vec<&str> {
    out.stderr.lines().filter(|l| l.contains("provider.terraform-provider-bluegreen:")).collect()
}

fn assert_no_credentials(out: &Output) {
    for secret in [ACCESS_KEY, SECRET_KEY] {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if let Some(line) = text.lines().find(|l| l.contains(secret)) {
                panic!("{stream} contains the credential {secret:?}:\n{line}");
            }
        }
    }
}

fn zone_lookup(zone_name: &str) -> String {
    format!("data \"bluegreen_hosted_zone\" \"z\" {{\n  name = \"{zone_name}\"\n}}\n\noutput \"zone_id\" {{ value = data.bluegreen_hosted_zone.z.zone_id }}\n")
}

#[test]
fn debug_log_shows_provider_lines_without_credentials_from_the_environment() {
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("lg"));
    let wd = Workdir::new("log-env");
    wd.config(&zone_lookup(&zone_name));
    let out = wd.run_with_env(
        &["apply", "-no-color", "-input=false", "-auto-approve"],
        &[("TF_LOG", "DEBUG"), ("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)],
    );
    out.assert_success();
    assert_eq!(wd.output("zone_id"), zone_id.as_str());

    let lines = provider_lines(&out);
    let find = |message: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!("provider.terraform-provider-bluegreen: {message}:")))
            .unwrap_or_else(|| panic!("no provider log line {message:?}; provider lines:\n{}\n{out}", lines.join("\n")))
    };
    let configuring = find("configuring AWS clients");
    assert!(configuring.contains("[DEBUG]"), "{configuring}");
    assert!(configuring.contains("@module=provider.bluegreen"), "{configuring}");
    assert!(configuring.contains("terraform_version=1.0.3"), "{configuring}");
    let reading = find("reading data source");
    assert!(reading.contains("[DEBUG]") && reading.contains("data_source=bluegreen_hosted_zone"), "{reading}");
    // Every provider line is an hclog line terraform understood (not raw JSON it passed through).
    assert!(lines.iter().all(|l| !l.contains("{\"@")), "provider lines terraform did not parse:\n{}", lines.join("\n"));

    assert_no_credentials(&out);
}

#[test]
fn trace_log_has_no_credentials_from_the_provider_block() {
    let (zone_name, _) = fixture::hosted_zone(&unique_suffix("lt"));
    let wd = Workdir::new("log-block");
    wd.config(&format!(
        r#"
variable "access_key" {{
  type      = string
  sensitive = true
}}

variable "secret_key" {{
  type      = string
  sensitive = true
}}

provider "bluegreen" {{
  access_key = var.access_key
  secret_key = var.secret_key
}}

{}"#,
        zone_lookup(&zone_name)
    ));
    let out = wd.run_with_env(
        &["plan", "-no-color", "-input=false"],
        &[("TF_LOG", "TRACE"), ("TF_VAR_access_key", ACCESS_KEY), ("TF_VAR_secret_key", SECRET_KEY)],
    );
    out.assert_success();
    assert!(provider_lines(&out).iter().any(|l| l.contains("reading data source")), "{out}");
    assert_no_credentials(&out);
}

#[test]
fn no_provider_lines_without_tf_log() {
    let wd = Workdir::new("log-off");
    // A lookup that fails still runs the provider through configure and read.
    wd.config(&zone_lookup(&format!("{}.example.com", unique_suffix("nope-"))));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    out.error("Hosted zone not found");
    assert!(provider_lines(&out).is_empty(), "{out}");
    assert!(!out.stderr.contains("@module"), "{out}");
}
