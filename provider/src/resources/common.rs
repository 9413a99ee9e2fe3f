//! Blocks and checks shared by both switches: rollout, health gate, and the
//! translation of their models into the engine's types.

use std::time::Duration;

use bluegreen_core::duration;
use bluegreen_core::engine::{OnGateFailure, ShiftOutcome};
use bluegreen_core::gate::{HealthGate, HttpCheck};
use bluegreen_core::probe::ProbeUrl;
use bluegreen_core::rollout::Rollout;
use bluegreen_core::traffic::TrafficSplit;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{attr_path, Diagnostics, PathBuilder};
use crate::errors::report;
use crate::typed::Val;
use crate::value::Path;

/// How one apply moves traffic up to the new value: through intermediate steps, baking after each.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct RolloutModel {
    /// Intermediate green percentages, strictly increasing, each between 1 and 99, e.g. `[10, 50]`. An apply that increases
    /// traffic stops at each step that lies strictly between the current and the new value; a decrease (rollback) goes
    /// straight to the new value.
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub steps: Val<Vec<i64>>,
    /// How long to wait after each step while health gates are re-checked (every 30 s and at the end), e.g. `"5m"`. Units:
    /// `ms`, `s`, `m`, `h`, `d`. Defaults to `"0s"`.
    #[serde(default)]
    #[schemars(extend("default" = "0s"))]
    pub bake_time: Val<String>,
}

/// What must be true of green before more traffic goes to it. Checked before any increase of green traffic, every 30 s
/// during a bake and at its end; a failure triggers `on_gate_failure`. Decreasing green traffic is never gated.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct HealthGateModel {
    /// Target groups of the green stack that must have healthy targets.
    #[serde(default)]
    pub target_group_arns: Val<Vec<String>>,
    /// Healthy targets required in each target group (each one separately); the gate fails when any has fewer. Defaults
    /// to 1.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000), extend("default" = 1))]
    pub min_healthy_targets: Val<i64>,
    /// Verify green through its own path (its own ALB hostname) before users reach it.
    #[serde(default)]
    pub http_check: Option<HttpCheckModel>,
}

/// An HTTP GET against green's own endpoint, like `curl -k -H 'Host: …' https://<new ALB>/healthz`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct HttpCheckModel {
    /// `http://` or `https://` URL, typically green's own ALB hostname, e.g. `https://ecs-alb-123.eu-west-1.elb.amazonaws.com/healthz`.
    pub url: Val<String>,
    /// Host header to send: WAF and virtual-host rules match the public name (e.g. `api.example.com`), not the ALB's own.
    #[serde(default)]
    pub host_header: Val<String>,
    /// Status codes that count as healthy. Defaults to `[200]`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 20))]
    pub expect_status: Val<Vec<i64>>,
    /// Skip certificate checks, like `curl -k` (the ALB's own hostname does not match the certificate). Defaults to `false`.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub insecure_tls: Val<bool>,
    /// How long to wait for an answer, e.g. `"5s"`. Defaults to `"5s"`.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Val<String>,
}

/// What to do when a health gate fails while green traffic increases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnGateFailureModel {
    /// Return to the traffic value in effect before this apply.
    Rollback,
    /// Return to the last step whose gate passed, and stop there.
    Halt,
}

pub fn check_duration(v: &Val<String>, path: Path, what: &str, min: Duration, max: Duration, diags: &mut Diagnostics) {
    let Some(s) = v.known() else { return };
    match duration::parse(s) {
        Err(e) => diags.error_at(path, format!("Invalid {what}"), format!("{e}.")),
        Ok(d) if d < min || d > max => diags.error_at(
            path,
            format!("Invalid {what}"),
            format!("{what} must be between {} and {}, got {s:?}.", duration::format(min), duration::format(max)),
        ),
        Ok(_) => {}
    }
}

pub fn validate_rollout(r: &RolloutModel, base: &Path, diags: &mut Diagnostics) {
    if let Some(steps) = r.steps.known() {
        if let Err((i, msg)) = Rollout::check_steps(steps) {
            diags.error_at(base.clone().attr("steps").index(i), "Invalid rollout step", format!("{msg}."));
        }
    }
    check_duration(&r.bake_time, base.clone().attr("bake_time"), "bake_time", Duration::ZERO, Duration::from_secs(7 * 86_400), diags);
}

pub fn validate_gate(g: &HealthGateModel, base: &Path, diags: &mut Diagnostics) {
    if let Some(c) = &g.http_check {
        let p = base.clone().attr("http_check");
        if let Some(Err(e)) = c.url.known().map(|u| ProbeUrl::parse(u)) {
            diags.error_at(p.clone().attr("url"), "Invalid url", format!("{e}."));
        }
        if let Some(codes) = c.expect_status.known() {
            for (i, code) in codes.iter().enumerate() {
                if !(100..=599).contains(code) {
                    diags.error_at(
                        p.clone().attr("expect_status").index(i),
                        "Invalid status code",
                        format!("{code} is not an HTTP status code; use values from 100 to 599, such as 200 or 204."),
                    );
                }
            }
        }
        if let Some(h) = c.host_header.known() {
            if h.is_empty() || h.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
                diags.error_at(p.clone().attr("host_header"), "Invalid host_header", format!("{h:?} is not a host name."));
            }
        }
        check_duration(&c.timeout, p.attr("timeout"), "timeout", Duration::from_millis(100), Duration::from_secs(120), diags);
    }
}

pub fn rollout(r: Option<&RolloutModel>) -> Option<Rollout> {
    let r = r?;
    Some(Rollout {
        steps: r.steps.known().map(|s| s.iter().filter_map(|x| u8::try_from(*x).ok()).collect()).unwrap_or_default(),
        bake: r.bake_time.known().and_then(|b| duration::parse(b).ok()).unwrap_or_default(),
    })
}

/// The engine's gate; `extra_target_groups` are always checked (the ALB
/// canary checks its green target group).
pub fn gate(g: Option<&HealthGateModel>, extra_target_groups: &[String]) -> Option<HealthGate> {
    let g = g?;
    let mut arns: Vec<String> = extra_target_groups.to_vec();
    for a in g.target_group_arns.known().into_iter().flatten() {
        if !arns.contains(a) {
            arns.push(a.clone());
        }
    }
    let http_check = g.http_check.as_ref().and_then(|c| {
        let url_text = c.url.known()?.clone();
        Some(HttpCheck {
            url: ProbeUrl::parse(&url_text).ok()?,
            url_text,
            host_header: c.host_header.known().cloned(),
            expect_status: c
                .expect_status
                .known()
                .map(|v| v.iter().filter_map(|x| u16::try_from(*x).ok()).collect())
                .unwrap_or_else(|| vec![200]),
            insecure_tls: c.insecure_tls.known().copied().unwrap_or(false),
            timeout: c.timeout.known().and_then(|t| duration::parse(t).ok()).unwrap_or(Duration::from_secs(5)),
        })
    });
    Some(HealthGate {
        target_group_arns: arns,
        min_healthy_targets: g.min_healthy_targets.known().and_then(|n| u32::try_from(*n).ok()).unwrap_or(1),
        http_check,
    })
}

pub fn on_gate_failure(v: &Val<OnGateFailureModel>) -> OnGateFailure {
    match v.known() {
        Some(OnGateFailureModel::Halt) => OnGateFailure::Halt,
        _ => OnGateFailure::Rollback,
    }
}

/// Path of the configuration a gate failure names (`health_gate.http_check`…).
pub fn gate_path(gate: &str) -> Path {
    attr_path(&gate.split('.').collect::<Vec<_>>())
}

/// Diagnostics for an engine outcome, shared with the ALB canary.
pub fn outcome_diags(outcome: &ShiftOutcome, at: TrafficSplit, to: TrafficSplit, diags: &mut Diagnostics, now: &str) {
    let state = format!("{now}: {}% green, {}% blue.", at.green(), at.blue());
    match outcome {
        ShiftOutcome::Reached => {}
        ShiftOutcome::GateBlocked(f) => diags.error_at(
            gate_path(&f.gate),
            "Health gate failed: traffic not increased",
            format!(
                "{}: {}.\n\nNo traffic was moved to green. {state} Fix green (or the gate), then apply again to reach {}%.",
                f.gate,
                f.observation,
                to.green()
            ),
        ),
        ShiftOutcome::RolledBack(f) => diags.error_at(
            gate_path(&f.gate),
            format!("Health gate failed: traffic rolled back to {}%", at.green()),
            format!(
                "{}: {}.\n\non_gate_failure = \"rollback\" returned traffic to where this apply started. {state}",
                f.gate, f.observation
            ),
        ),
        ShiftOutcome::Halted(f) => diags.error_at(
            gate_path(&f.gate),
            format!("Health gate failed: rollout halted at {}%", at.green()),
            format!("{}: {}.\n\non_gate_failure = \"halt\" returned traffic to the last step that passed. {state}", f.gate, f.observation),
        ),
        ShiftOutcome::Stopped => diags.error(
            format!("Stopped at {}% green", at.green()),
            format!(
                "Terraform asked the provider to stop (Ctrl-C). Traffic stays at the step reached. {state} Apply again to continue to {}%.",
                to.green()
            ),
        ),
        ShiftOutcome::Failed(e) => {
            let mut d = Diagnostics::new();
            report(&mut d, e, None, "Shifting traffic");
            for mut x in d.0 {
                x.detail = format!("{}\n\n{state}", x.detail);
                diags.0.push(x);
            }
        }
    }
}

/// `traffic` as a split, once known and in range.
pub fn target_split(traffic: &Val<i64>) -> Option<TrafficSplit> {
    traffic.known().and_then(|t| u8::try_from(*t).ok()).and_then(TrafficSplit::green_percent)
}

/// The computed `blue_weight`, `green_weight` and `active` that follow from a
/// split (unknown while the split is).
pub fn split_attrs(split: Option<TrafficSplit>) -> (Val<i64>, Val<i64>, Val<String>) {
    match split {
        Some(s) => (Val::Known(i64::from(s.blue())), Val::Known(i64::from(s.green())), Val::Known(s.active().as_str().to_string())),
        None => (Val::Unknown, Val::Unknown, Val::Unknown),
    }
}

/// One engine error as diagnostics.
pub fn error_from(e: &bluegreen_core::Error, path: Option<Path>, context: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    report(&mut d, e, path, context);
    d
}
