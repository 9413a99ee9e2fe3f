//! The words of diagnostics that several modules share: which attribute a
//! gate check names, what a gate failure saw, a sentence's first letter. A
//! leaf: it depends on values and core's verdicts only, so errors, config and
//! the resources can all use it without using each other.

use std::time::Duration;

use bluegreen_core::duration;
use bluegreen_core::gate::{GateFailure, GateKind, MetricPart};

use crate::diag::{attr_path, Diagnostics};
use crate::typed::Val;
use crate::value::Path;

/// `s` with its first letter in upper case.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// The attribute a gate check is configured with, as path segments
/// (`health_gate.error_rate.max_percent`…): the same for both resources,
/// whatever each defaults.
pub fn gate_attr(gate: GateKind) -> Vec<&'static str> {
    let metric = |block: &'static str, part: MetricPart, max: &'static str, over_blue: &'static str| {
        let leaf = match part {
            MetricPart::Whole => None,
            MetricPart::MinRequests => Some("min_requests"),
            MetricPart::Max => Some(max),
            MetricPart::OverBlue => Some(over_blue),
            MetricPart::GreenTargetGroup => Some("green_target_group_arn"),
            MetricPart::BlueTargetGroup => Some("blue_target_group_arn"),
        };
        ["health_gate", block].into_iter().chain(leaf).collect()
    };
    match gate {
        GateKind::TargetGroups => vec!["health_gate", "target_group_arns"],
        GateKind::MinHealthyTargets => vec!["health_gate", "min_healthy_targets"],
        GateKind::HttpCheck => vec!["health_gate", "http_check"],
        GateKind::CloudWatchAlarms | GateKind::AlarmHistory => vec!["health_gate", "cloudwatch_alarms"],
        GateKind::ErrorRate(part) => metric("error_rate", part, "max_percent", "max_percent_over_blue"),
        GateKind::Latency(part) => metric("latency", part, "max", "max_over_blue"),
        GateKind::ObservedTraffic => vec!["rollout", "observed_traffic"],
    }
}

/// Path of the configuration a gate check names.
pub fn gate_path(gate: GateKind) -> Path {
    attr_path(&gate_attr(gate))
}

/// The attribute a gate check names, as written in messages (`health_gate.http_check`).
pub fn gate_name(gate: GateKind) -> String {
    gate_attr(gate).join(".")
}

/// What a gate failure saw, with what to change when a metric gate could
/// not be judged by the end of a bake, and the step it happened at.
pub fn observation(f: &GateFailure) -> String {
    let advice = match f.gate {
        GateKind::ErrorRate(MetricPart::MinRequests) => Some("error_rate"),
        GateKind::Latency(MetricPart::MinRequests) => Some("latency"),
        _ => None,
    }
    .map(|block| {
        format!(
            ". Green cannot be judged on so little traffic: raise the step, lengthen bake_time or {block}.window, or lower min_requests"
        )
    })
    .unwrap_or_default();
    format!("{}{advice}{}", f.observation, f.step_suffix())
}

/// An error at `path` unless `v` (when known) is a duration from `min` to `max`, e.g. "Invalid bake_time".
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
