//! Provider logs reach terraform's log (`TF_LOG`), and credentials never do.
//!
//! The provider writes hclog JSON lines on stderr; terraform (1.0.3, 1.6.6
//! and 1.15.5 alike) re-logs each at its level, named after the plugin
//! binary, with the JSON fields as `key=value` pairs:
//!
//! ```text
//! 2026-11-22T11:18:30.952Z [DEBUG] provider.terraform-provider-bluegreen: reading data source: @module=provider.bluegreen data_source=bluegreen_hosted_zone target=bluegreen_provider::server timestamp=…
//! ```

use bluegreen_acceptance::{fixture, unique_suffix, Output, Workdir};

const ACCESS_KEY: &str = "AKIATESTDISTINCTIVE1";
const SECRET_KEY: &str = "SeCrEtDiStInCtIvE0123456789abcdefGHIJKLMN";
/// Sent on every request as `X-Amz-Security-Token` (and signed), so the likeliest credential to leak
/// through a log of requests.
const SESSION_TOKEN: &str = "FwoGZXIvYXdzSeSsIoNtOkEnDiStInCtIvE0123456789abcdefXYZ";

/// Lines terraform logged on behalf of our provider.
fn provider_lines(out: &Output) -> Vec<&str> {
    out.stderr.lines().filter(|l| l.contains("provider.terraform-provider-bluegreen:")).collect()
}

fn assert_no_credentials(out: &Output) {
    for secret in [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN] {
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
    // The version terraform announced in ConfigureProvider is the one running.
    let version = format!("terraform_version={}", wd.env().terraform_version);
    assert!(configuring.contains(&version), "want {version}: {configuring}");
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

/// A real apply at TRACE: the switch is created (records written) with
/// credentials and a session token from the environment, then shifted with
/// credentials from the provider block. Neither terraform's output, the
/// provider's log lines nor the state ever holds a secret, and the records
/// really are there.
#[test]
fn trace_apply_of_a_switch_writes_records_without_leaking_credentials() {
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("lx"));
    let name = format!("api.{zone_name}");
    let switch = |traffic: i64| {
        format!(
            "resource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{zone_id}\"\n  name    = \"{name}\"\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n  traffic = {traffic}\n}}\n"
        )
    };
    let wd = Workdir::new("log-apply");
    let apply = ["apply", "-no-color", "-input=false", "-auto-approve"];

    // 1. Credentials and session token from the environment.
    wd.config(&switch(0));
    let out = wd.run_with_env(
        &apply,
        &[
            ("TF_LOG", "TRACE"),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ],
    );
    out.assert_success();
    assert!(provider_lines(&out).iter().any(|l| l.contains("[INFO]") && l.contains("applying")), "no provider log of the apply\n{out}");
    assert!(provider_lines(&out).iter().any(|l| l.contains("[TRACE]") || l.contains("[DEBUG]")), "provider logs below INFO are off\n{out}");
    assert_no_credentials(&out);
    assert_eq!(fixture::weights(&zone_id, &name), [("blue".to_string(), 100), ("green".to_string(), 0)]);

    // 2. Credentials in the provider block (sensitive variables), a session token still in the environment.
    wd.config(&format!(
        "variable \"access_key\" {{\n  type      = string\n  sensitive = true\n}}\n\nvariable \"secret_key\" {{\n  type      = string\n  sensitive = true\n}}\n\nprovider \"bluegreen\" {{\n  access_key = var.access_key\n  secret_key = var.secret_key\n}}\n\n{}",
        switch(50)
    ));
    let out = wd.run_with_env(
        &apply,
        &[
            ("TF_LOG", "TRACE"),
            ("TF_VAR_access_key", ACCESS_KEY),
            ("TF_VAR_secret_key", SECRET_KEY),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ],
    );
    out.assert_success();
    assert!(out.stdout.contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."), "{out}");
    assert_no_credentials(&out);
    assert_eq!(fixture::weights(&zone_id, &name), [("blue".to_string(), 50), ("green".to_string(), 50)]);

    // The state (and its backup) hold no credential either.
    for file in ["terraform.tfstate", "terraform.tfstate.backup"] {
        let text = std::fs::read_to_string(wd.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for secret in [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN] {
            assert!(!text.contains(secret), "{file} contains the credential {secret:?}");
        }
    }
}

/// A secret planted where users put them: a password in a health check URL, in an endpoint override and in
/// `AWS_ENDPOINT_URL_*`, a test route's header value (a shared secret that opens green), an assumed role's external id. No diagnostic's summary or
/// detail, and no log line of the provider, ever holds it (terraform's own snippet of the configuration may quote
/// the line; that is the user's text, not a message of ours).
#[test]
fn planted_secrets_stay_out_of_diagnostics_and_provider_logs() {
    const PLANTED: &str = "pl4ntedS3cretDiStInCtIvE";
    let assert_clean = |what: &str, out: &Output| {
        for d in out.diagnostics() {
            assert!(!d.summary.contains(PLANTED) && !d.raw_detail.contains(PLANTED), "{what}: a diagnostic holds the secret:\n{d}");
        }
        if let Some(line) = provider_lines(out).into_iter().find(|l| l.contains(PLANTED)) {
            panic!("{what}: a provider log line holds the secret:\n{line}");
        }
    };
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("ps"));
    let wd = Workdir::new("log-planted");
    let plan = ["plan", "-no-color", "-input=false", "-json"];
    let trace = [("TF_LOG", "TRACE")];

    // 1. userinfo in a health check URL: refused, redacted.
    wd.config(&format!(
        "resource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{zone_id}\"\n  name    = \"api.{zone_name}\"\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n  traffic = 0\n  health_gate {{\n    http_check {{\n      url = \"https://ops:{PLANTED}@green.example.com/healthz\"\n    }}\n  }}\n}}\n"
    ));
    let out = wd.run_with_env(&plan, &trace);
    out.assert_failure();
    let e = out.only_error();
    println!("---- userinfo in http_check.url:\n{e}\n");
    assert!(e.detail().contains("\"https://***@green.example.com/healthz\" carries a user name or password"), "{e}");
    assert_clean("http_check url", &out);

    // 2. userinfo in an endpoint override.
    wd.config(&format!(
        "provider \"bluegreen\" {{\n  endpoints {{\n    route53 = \"http://ops:{PLANTED}@127.0.0.1:4566\"\n  }}\n}}\n\n{}",
        zone_lookup(&zone_name)
    ));
    let out = wd.run_with_env(&plan, &trace);
    out.assert_failure();
    let e = out.only_error();
    println!("---- userinfo in endpoints.route53:\n{e}\n");
    assert_eq!(e.summary, "Invalid endpoint URL", "{e}");
    assert!(e.detail().contains("\"http://***@127.0.0.1:4566\""), "{e}");
    assert_clean("endpoints.route53", &out);

    // 3. userinfo in AWS_ENDPOINT_URL_ROUTE_53 (refused at configure, before any call).
    wd.config(&zone_lookup(&zone_name));
    let var = format!("http://ops:{PLANTED}@127.0.0.1:4566");
    let out = wd.run_with_env(&plan, &[("TF_LOG", "TRACE"), ("AWS_ENDPOINT_URL_ROUTE_53", &var)]);
    out.assert_failure();
    // (Terraform adds its own "Invalid provider configuration" after an error at configure.)
    let e = out.error("Invalid endpoint URL");
    println!("---- userinfo in AWS_ENDPOINT_URL_ROUTE_53:\n{e}\n");
    assert!(e.detail().contains("AWS_ENDPOINT_URL_ROUTE_53 (\"http://***@127.0.0.1:4566\")"), "{e}");
    assert_clean("AWS_ENDPOINT_URL_ROUTE_53", &out);

    // 4. A test route's header value: sensitive, so plans show it hidden, and no log line holds it.
    let s = fixture::legacy_stack(&unique_suffix("ps"));
    wd.config(&format!(
        "resource \"canary_listener\" \"x\" {{\n  provider     = bluegreen\n  listener_arn = \"{}\"\n  priority     = 100\n\n  blue_target_group_arn  = \"{}\"\n  green_target_group_arn = \"{}\"\n  traffic                = 0\n\n  test_route {{\n    header_name   = \"X-Canary\"\n    header_values = [\"{PLANTED}\"]\n  }}\n}}\n",
        s.listener_arn, s.tg_arn, s.empty_tg_arn
    ));
    let out = wd.run_with_env(&["plan", "-no-color", "-input=false"], &trace);
    out.assert_success();
    assert!(!out.stdout.contains(PLANTED), "the plan shows the header value:\n{}", out.stdout);
    assert_clean("test_route plan", &out);
    let out = wd.run_with_env(&["apply", "-no-color", "-input=false", "-auto-approve", "-json"], &trace);
    out.assert_success();
    assert_clean("test_route apply", &out);
    let out = wd.run_with_env(&["destroy", "-no-color", "-input=false", "-auto-approve", "-json"], &trace);
    out.assert_success();
    assert_clean("test_route destroy", &out);

    // 5. assume_role.external_id: sensitive, and no message or log line holds it, whether the role is assumed or not.
    wd.config(&format!(
        "provider \"bluegreen\" {{\n  assume_role {{\n    role_arn    = \"arn:aws:iam::000000000000:role/cutover\"\n    external_id = \"{PLANTED}\"\n  }}\n}}\n\n{}",
        zone_lookup(&zone_name)
    ));
    let out = wd.run_with_env(&plan, &trace);
    println!("---- assume_role with an external_id: {}\n", out.status);
    assert_clean("assume_role.external_id", &out);
}
