//! The one harness for bad input: a configuration that `terraform plan` must
//! refuse with exactly one error, naming the attribute and pointing at its
//! line, without crashing the provider. The suites (`bad_input.rs`,
//! `diagnostics.rs`, the matrices in `switch.rs` and `canary.rs`) list cases
//! with [`cases!`](crate::cases) and check each with [`BadInput::check`].
//!
//! The error is read from `terraform plan -json` ([`Diagnostic::parse_json`]):
//! summary, detail, and the source range and quoted line terraform attaches
//! to it. The human rendering of the same diagnostic is printed for review
//! (`--nocapture`).

use std::time::Duration;

use crate::proxy::{Proxy, STS};
use crate::{collapse_ws, line_of, Diagnostic, Workdir};

/// Where the provider's AWS calls go while a case is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aws {
    /// To LocalStack: lookups that find nothing are part of the case.
    LocalStack,
    /// Nowhere (a closed port): an AWS call would fail with another error,
    /// so the error must come from validation.
    Unreachable,
    /// Through a recording proxy of the case's own, which must see no call
    /// but the provider's credentials check (`sts:GetCallerIdentity`).
    NoCalls,
}

/// What a crashed or panicking provider leaves in terraform's output.
pub const CRASH_SIGNS: &[&str] =
    &["plugin crashed", "panicked at", "Plugin did not respond", "Request cancelled", "rpc error", "Provider bug", "stack backtrace"];

/// Made-up ARNs for configurations that must fail before any AWS call (a
/// lookup of them would find nothing).
pub const LISTENER_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/legacy/0123456789abcdef/0123456789abcdef";
pub const LB_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/legacy/0123456789abcdef";
pub const BLUE_TG_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/legacy/0123456789abcdef";
pub const GREEN_TG_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ecs/fedcba9876543210";

/// A valid `canary_listener` with a test route (on the made-up ARNs), for
/// cases that break it in one place.
pub fn canary_base() -> String {
    format!(
        r#"resource "canary_listener" "x" {{
  provider     = bluegreen
  listener_arn = "{LISTENER_ARN}"
  priority     = 100

  match {{
    host_header = ["api.example.com"]
  }}

  blue_target_group_arn  = "{BLUE_TG_ARN}"
  green_target_group_arn = "{GREEN_TG_ARN}"
  traffic                = 10

  test_route {{
    header_name   = "X-Canary"
    header_values = ["1"]
  }}
}}
"#
    )
}

/// `base` with `from` (which must occur exactly once) replaced by `to`.
#[track_caller]
pub fn edit(base: &str, from: &str, to: &str) -> String {
    assert_eq!(base.matches(from).count(), 1, "{from:?} must occur once in:\n{base}");
    base.replacen(from, to, 1)
}

/// `base` with `block` inserted before its last closing brace.
pub fn add(base: &str, block: &str) -> String {
    let cut = base.trim_end().len() - 1;
    format!("{}{block}}}\n", &base[..cut])
}

/// One bad configuration (`main.tf`) and what terraform must say about it.
#[derive(Debug, Clone)]
pub struct BadInput {
    pub config: String,
    /// The error's summary, exactly.
    pub summary: String,
    /// Text of the `main.tf` line the error must point at (the first line
    /// containing it); `None`: any line (see [`BadInput::anywhere`]).
    pub points_at: Option<String>,
    /// Texts the detail must contain (white space collapsed on both sides).
    pub detail: Vec<String>,
    /// What the summary or the detail must mention: the attribute at fault,
    /// or for a failed lookup the value searched for.
    pub names: Option<String>,
    pub aws: Aws,
}

/// A case whose error has `summary`, points at the first line containing
/// `points_at` and whose detail contains `detail`.
pub fn case(config: impl Into<String>, summary: &str, points_at: &str, detail: &str) -> BadInput {
    BadInput::new(config, summary, points_at).detail(detail)
}

impl BadInput {
    /// A case whose error has `summary` and points at the first line containing `points_at`.
    pub fn new(config: impl Into<String>, summary: &str, points_at: &str) -> BadInput {
        BadInput {
            config: config.into(),
            summary: summary.to_string(),
            points_at: Some(points_at.to_string()),
            detail: Vec::new(),
            names: None,
            aws: Aws::LocalStack,
        }
    }

    /// Another text the detail must contain.
    pub fn detail(mut self, text: impl Into<String>) -> BadInput {
        self.detail.push(text.into());
        self
    }

    /// Text the summary or the detail must contain.
    pub fn names(mut self, what: &str) -> BadInput {
        self.names = Some(what.to_string());
        self
    }

    /// Only for a case documenting where a badly pointing error points
    /// today: any source pointer will do.
    pub fn anywhere(mut self) -> BadInput {
        self.points_at = None;
        self
    }

    /// Where the provider's AWS calls go ([`Aws::LocalStack`] unless set).
    pub fn aws(mut self, aws: Aws) -> BadInput {
        self.aws = aws;
        self
    }

    /// Plans the configuration in a work directory named after `name` and
    /// checks everything the case says. Returns the error.
    #[track_caller]
    pub fn check(&self, name: &str) -> Diagnostic {
        let proxy = (self.aws == Aws::NoCalls).then(Proxy::start);
        let mut wd = Workdir::new(name);
        if let Some(p) = &proxy {
            wd = wd.with_proxy(p);
        }
        wd.config(&self.config);
        // The provider's own log (where a Rust panic message lands) goes to a file, out of the diagnostics' way.
        let log = wd.path().join("provider.log");
        let log_path = log.display().to_string();
        let mut env = vec![("TF_LOG_PROVIDER", "DEBUG"), ("TF_LOG_PATH", log_path.as_str())];
        if self.aws == Aws::Unreachable {
            env.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9"));
        }
        let out = wd.plan_json_output(&[], &env);
        println!("---- {name} ({:.1?})", out.elapsed);
        out.assert_failure();

        if let Some(p) = &proxy {
            assert!(p.wait_idle(Duration::from_secs(10)), "AWS calls still in flight after terraform exited");
            // The provider's credentials check (sts:GetCallerIdentity, at ConfigureProvider) is not about the input.
            let calls: Vec<_> = p.calls().into_iter().filter(|c| c.service != STS).collect();
            assert!(
                calls.is_empty(),
                "bad input made {} AWS call(s):\n{}\n{out}",
                calls.len(),
                calls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("\n")
            );
        }
        for sign in CRASH_SIGNS {
            assert!(!out.stdout.contains(sign) && !out.stderr.contains(sign), "the output shows {sign:?}\n{out}");
        }
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!log.contains("panicked at"), "the provider panicked:\n{log}");

        let d = out.only_error();
        // Shown with --nocapture, to review how the messages read.
        println!("{d}\n");
        assert_eq!(d.summary, self.summary, "{out}");
        match &self.points_at {
            Some(points_at) => {
                // The range's start, and the quoted line N as it is in the file.
                let want = line_of(&self.config, points_at);
                let line_text = self.config.lines().nth(want - 1).expect("line exists");
                assert_eq!(
                    d.subject(),
                    Some(("main.tf".to_string(), want)),
                    "error points at the wrong place (want line {want}: {line_text:?})\n{d}"
                );
                assert!(d.quotes(want, line_text), "the quoted source line is missing\n{d}");
            }
            None => assert!(d.subject().is_some(), "no source pointer\n{d}"),
        }
        let detail = d.detail();
        for text in &self.detail {
            let text = collapse_ws(text);
            assert!(detail.contains(&text), "detail lacks {text:?}\ndetail: {detail}\n{d}");
        }
        if let Some(names) = &self.names {
            assert!(
                d.summary.contains(names.as_str()) || detail.contains(names.as_str()),
                "neither summary nor detail names the attribute {names:?}\n{d}"
            );
        }
        assert!(detail.ends_with('.'), "detail is not a sentence: {detail:?}");
        d
    }
}
