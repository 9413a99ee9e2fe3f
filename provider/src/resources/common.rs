//! Blocks and checks shared by both switches: rollout, health gate, and the
//! translation of their models into the engine's types.

use std::time::{Duration, SystemTime};

use bluegreen_core::cutover::{self, Created, Cutover};
use bluegreen_core::engine::{OnGateFailure, Pause, PauseReason, ShiftOutcome, ShiftPlan, StepClock, TrafficRouter};
use bluegreen_core::gate::{AwsGateProbe, GateFailure, GateKind, HealthGate, HttpCheck, MetricPart, SetupProblem};
use bluegreen_core::metric_gate::{ErrorRateGate, InsufficientData, LatencyGate, ObservedTraffic, STATISTICS};
use bluegreen_core::probe::ProbeUrl;
use bluegreen_core::rollout::Rollout;
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::Error;
use bluegreen_core::{clock, duration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{attr_path, Diagnostics, PathBuilder};
use crate::errors::report;
use crate::resource::Ctx;
use crate::typed::Val;
use crate::value::Path;
pub use crate::wording::{check_duration, gate_attr, gate_name, gate_path, observation};

/// How one apply moves traffic up to the new value: through intermediate steps, baking after each.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct RolloutModel {
    /// Intermediate green percentages, strictly increasing, each between 1 and 99, e.g. `[10, 50]`. An apply that increases
    /// traffic stops at each step that lies strictly between the current and the new value, after finishing the bake of
    /// the step it starts at (counted from `shifted_at`); a decrease (rollback) goes straight to the new value.
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub steps: Val<Vec<i64>>,
    /// How long to wait after each step while health gates are re-checked (every `health_gate.check_interval` and at the
    /// end), e.g. `"5m"`. Units: `ms`, `s`, `m`, `h`, `d`. Defaults to `"0s"`. With CloudWatch in the gate, the bake ends
    /// on the first check at or after `bake_time` (less than one `check_interval` later), so the check before the next
    /// step reads fresh values.
    #[serde(default)]
    #[schemars(extend("default" = "0s"))]
    pub bake_time: Val<String>,
    /// The longest one apply waits, e.g. `"30m"`; unset: no limit. `"0s"`: never wait. A bake is measured from
    /// `shifted_at`, across applies: when the next bake (or what is left of it) would take this apply past the limit, the
    /// apply stops at the step reached (always one whose gates passed) and succeeds with a warning naming the step and the
    /// UTC time after which the next apply goes on. The state then keeps the configured `traffic` and the real weights
    /// (the next refresh reads them into `traffic`, so the next plan shows the rest of the way). Run `terraform apply` on
    /// a schedule to walk a rollout of hours or days with short applies. A rollback is never paused.
    #[serde(default)]
    pub max_wait_per_apply: Val<String>,
}

/// How one apply moves traffic up to the new value: through intermediate steps, baking after each; a step counts as
/// reached once clients follow it (`observed_traffic`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct SwitchRolloutModel {
    /// Intermediate green percentages, strictly increasing, each between 1 and 99, e.g. `[10, 50]`. An apply that increases
    /// traffic stops at each step that lies strictly between the current and the new value, after finishing the bake of
    /// the step it starts at (counted from `shifted_at`); a decrease (rollback) goes straight to the new value.
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub steps: Val<Vec<i64>>,
    /// How long to wait after each step while health gates are re-checked (every `health_gate.check_interval` and at the
    /// end), e.g. `"5m"`. Units: `ms`, `s`, `m`, `h`, `d`. Defaults to `"0s"`. With CloudWatch in the gate, the bake ends
    /// on the first check at or after `bake_time` (less than one `check_interval` later), so the check before the next
    /// step reads fresh values.
    #[serde(default)]
    #[schemars(extend("default" = "0s"))]
    pub bake_time: Val<String>,
    /// The longest one apply waits, e.g. `"30m"`; unset: no limit. `"0s"`: never wait. A bake is measured from
    /// `shifted_at`, across applies: when the next bake (or what is left of it) would take this apply past the limit, the
    /// apply stops at the step reached (always one whose gates passed) and succeeds with a warning naming the step and the
    /// UTC time after which the next apply goes on. The state then keeps the configured `traffic` and the real weights
    /// (the next refresh reads them into `traffic`, so the next plan shows the rest of the way). Run `terraform apply` on
    /// a schedule to walk a rollout of hours or days with short applies. A rollback is never paused.
    #[serde(default)]
    pub max_wait_per_apply: Val<String>,
    /// After each step of an increase is `INSYNC`, the new `traffic` too, wait until the share of requests green's load
    /// balancer really receives follows the weights (resolvers cache answers), then bake. Rolling back waits for nothing.
    /// It counts each load balancer's whole `RequestCount` — every host and listener it serves, not only this name — so
    /// use it where both load balancers serve this name alone: a legacy load balancer that also serves other names makes
    /// green's share look too low, and the step is never reached. There, gate on target groups dedicated to the name
    /// (`health_gate`'s `error_rate` and `latency`), whose metrics count only its requests.
    #[serde(default)]
    pub observed_traffic: Option<ObservedTrafficModel>,
}

/// Green's share of the two load balancers' whole `RequestCount` (CloudWatch, last minute; every host they serve), compared
/// with the step.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct ObservedTrafficModel {
    /// ARN of blue's Application Load Balancer.
    #[schemars(regex(pattern = "^arn:aws[a-z-]*:elasticloadbalancing:.+:loadbalancer/app/.+$"), extend("x-pattern-hint" = "be an Application Load Balancer ARN (…:loadbalancer/app/<name>/<id>)"))]
    pub blue_load_balancer_arn: Val<String>,
    /// ARN of green's Application Load Balancer.
    #[schemars(regex(pattern = "^arn:aws[a-z-]*:elasticloadbalancing:.+:loadbalancer/app/.+$"), extend("x-pattern-hint" = "be an Application Load Balancer ARN (…:loadbalancer/app/<name>/<id>)"))]
    pub green_load_balancer_arn: Val<String>,
    /// Points of percentage green's observed share may differ from the step for the step to count as reached. Defaults to 10.
    #[serde(default)]
    #[schemars(range(min = 1, max = 50), extend("default" = 10))]
    pub tolerance: Val<i64>,
    /// Longest wait per step, e.g. `"15m"` (the default); not reached by then, the step fails like a gate and
    /// `on_gate_failure` applies.
    #[serde(default)]
    #[schemars(extend("default" = "15m"))]
    pub timeout: Val<String>,
}

/// Read access to the two rollout models.
pub trait RolloutFields {
    fn steps(&self) -> &Val<Vec<i64>>;
    fn bake_time(&self) -> &Val<String>;
    fn max_wait_per_apply(&self) -> &Val<String>;
}

impl RolloutFields for RolloutModel {
    fn steps(&self) -> &Val<Vec<i64>> {
        &self.steps
    }
    fn bake_time(&self) -> &Val<String> {
        &self.bake_time
    }
    fn max_wait_per_apply(&self) -> &Val<String> {
        &self.max_wait_per_apply
    }
}

impl RolloutFields for SwitchRolloutModel {
    fn steps(&self) -> &Val<Vec<i64>> {
        &self.steps
    }
    fn bake_time(&self) -> &Val<String> {
        &self.bake_time
    }
    fn max_wait_per_apply(&self) -> &Val<String> {
        &self.max_wait_per_apply
    }
}

/// What must be true of green before more traffic goes to it. Checked before any increase of green traffic, every
/// `check_interval` during a bake and at its end; a failure triggers `on_gate_failure`. Decreasing green traffic is never
/// gated.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct HealthGateModel {
    /// Target groups of the green stack that must have healthy targets.
    #[serde(default)]
    pub target_group_arns: Val<Vec<String>>,
    /// Healthy targets required in each target group (each one separately); the gate fails when any has fewer. Defaults
    /// to 1 where there is a target group to count (`target_group_arns`, or the canary's green target group); left
    /// unset otherwise.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000), extend("x-computed" = true))]
    pub min_healthy_targets: Val<i64>,
    /// Verify green through its own path (its own ALB hostname) before users reach it.
    #[serde(default)]
    pub http_check: Option<HttpCheckModel>,
    /// Names of CloudWatch alarms (metric or composite) none of which may be in `ALARM`, e.g. the alarms a team already
    /// pages on. Each must exist: a missing one is an error before any traffic moves.
    #[serde(default)]
    #[schemars(length(max = 100), inner(length(min = 1, max = 255)))]
    pub cloudwatch_alarms: Val<Vec<String>>,
    /// How an alarm in `INSUFFICIENT_DATA` counts: `pass` (default) or `fail`.
    #[serde(default)]
    #[schemars(extend("default" = "pass"))]
    pub alarm_insufficient_data: Val<InsufficientDataModel>,
    /// How often alarms and metrics (and target health, http_check) are re-checked during a bake, from `"1s"` to `"5m"`.
    /// Defaults to `"30s"`. Every resource in one Terraform run reads CloudWatch together on these ticks.
    #[serde(default)]
    #[schemars(extend("default" = "30s"))]
    pub check_interval: Val<String>,
    /// Green's real requests: its target group's `HTTPCode_Target_5XX_Count` / `RequestCount` (AWS/ApplicationELB).
    #[serde(default)]
    pub error_rate: Option<ErrorRateModel>,
    /// Green's response time: a statistic of its target group's `TargetResponseTime`.
    #[serde(default)]
    pub latency: Option<LatencyModel>,
    /// `bluegreen_switch` only: a guard that works while no apply runs. The switch keeps a Route 53 health check of
    /// type `CLOUDWATCH_METRIC` on each of `cloudwatch_alarms` (under one `CALCULATED` parent, healthy only while all of
    /// them are, when there are several) and attaches it to green's weighted record only. Route 53 skips a weighted
    /// record whose health check is unhealthy — and if every record of the name is unhealthy, it answers with all of
    /// them — so while any of the alarms is in `ALARM`, Route 53 answers with blue alone, and with green again once it
    /// clears, with no `terraform apply` running. An alarm in `INSUFFICIENT_DATA` makes green unhealthy with
    /// `alarm_insufficient_data = "fail"`; otherwise it keeps the status it had when the alarm last had data (Route 53's
    /// `LastKnownStatus`; healthy for a new check), so a green taken out by an alarm does not come back merely because
    /// its metric went quiet. Requires `cloudwatch_alarms` (alarms in the provider's region on standard-resolution
    /// metrics with a basic statistic such as `Sum` or `Average`; Route 53 refuses percentiles). The health checks are created, changed and deleted with this setting, deleted at destroy, and rebuilt
    /// by the next apply when deleted or detached outside Terraform (see `green_health_check_id`). Defaults to `false`.
    /// `canary_listener` has no equivalent: no AWS feature takes a weighted target group out of a listener rule when an
    /// alarm fires without code running somewhere; run `terraform apply` on a schedule instead
    /// (docs/guides/scheduled-rollout.md).
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub dns_failover: Val<bool>,
    /// An RFC 3339 time (e.g. `"2026-12-08T09:30:00Z"`): alarm history and metrics before it are not judged. Before
    /// each increase the gate judges the whole time since the split in effect was reached (`shifted_at`): an alarm of
    /// `cloudwatch_alarms` that was in `ALARM` at any moment since then — between two checks of a bake, or overnight
    /// between two applies, read from CloudWatch's alarm history (kept 14 days) — refuses the increase; an apply that
    /// starts at a split an earlier apply reached judges `error_rate` and `latency` over that time too. Once an
    /// incident at the step is understood, set
    /// `ignore_before` to a time after it to go on: the reviewable way past it. Alarms' current state is always
    /// judged. Must not be in the future.
    #[serde(default)]
    pub ignore_before: Val<String>,
}

/// How an alarm in `INSUFFICIENT_DATA` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InsufficientDataModel {
    /// Counts as not in alarm.
    Pass,
    /// Blocks like `ALARM`.
    Fail,
}

/// Green's 5xx rate over a trailing window, optionally against blue's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct ErrorRateModel {
    /// Green's target group. Required for `bluegreen_switch`; `canary_listener` defaults to its `green_target_group_arn`.
    #[serde(default)]
    pub green_target_group_arn: Val<String>,
    /// Blue's target group, the baseline for `max_percent_over_blue`. `canary_listener` defaults to its `blue_target_group_arn`.
    #[serde(default)]
    pub blue_target_group_arn: Val<String>,
    /// Trailing window, whole minutes from `"1m"` to `"1h"`. Defaults to `"5m"`.
    #[serde(default)]
    #[schemars(extend("default" = "5m"))]
    pub window: Val<String>,
    /// With fewer requests to green in the window the gate is not judged yet: the bake goes on, and a gate still not
    /// judged at the end of a bake fails. Defaults to 100.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_000_000_000), extend("default" = 100))]
    pub min_requests: Val<i64>,
    /// Highest 5xx rate allowed, in percent (0–100), e.g. `1.0`.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_percent: Val<f64>,
    /// Green's rate may exceed blue's by at most this many percentage points (0–100). Needs a blue target group.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_percent_over_blue: Val<f64>,
}

/// A statistic of green's `TargetResponseTime`, optionally against blue's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct LatencyModel {
    /// Green's target group. Required for `bluegreen_switch`; `canary_listener` defaults to its `green_target_group_arn`.
    #[serde(default)]
    pub green_target_group_arn: Val<String>,
    /// Blue's target group, the baseline for `max_over_blue`. `canary_listener` defaults to its `blue_target_group_arn`.
    #[serde(default)]
    pub blue_target_group_arn: Val<String>,
    /// Trailing window, whole minutes from `"1m"` to `"1h"`. Defaults to `"5m"`.
    #[serde(default)]
    #[schemars(extend("default" = "5m"))]
    pub window: Val<String>,
    /// With fewer requests to green in the window the gate is not judged yet (see `error_rate.min_requests`). Defaults to 100.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_000_000_000), extend("default" = 100))]
    pub min_requests: Val<i64>,
    /// `Average`, `p50`, `p90`, `p95`, `p99` (the default) or `p99.9`.
    #[serde(default)]
    #[schemars(extend("default" = "p99"))]
    pub statistic: Val<String>,
    /// Highest response time allowed, e.g. `"800ms"`.
    pub max: Val<String>,
    /// Green may be slower than blue by at most this much, e.g. `"200ms"`. Needs a blue target group.
    #[serde(default)]
    pub max_over_blue: Val<String>,
}

/// An HTTP GET against green's own endpoint, like `curl -H 'Host: …' https://<new ALB>/healthz` with the certificate checked against the Host name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct HttpCheckModel {
    /// `http://` or `https://` URL, typically green's own ALB hostname, e.g. `https://ecs-alb-123.eu-west-1.elb.amazonaws.com/healthz`.
    pub url: Val<String>,
    /// Host header to send: WAF and virtual-host rules match the public name (e.g. `api.example.com`), not the ALB's own. Also the TLS server name (SNI) of an `https://` url: the certificate is checked against it.
    #[serde(default)]
    pub host_header: Val<String>,
    /// Status codes that count as healthy. Defaults to `[200]`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 20))]
    pub expect_status: Val<Vec<i64>>,
    /// PEM certificates of a private CA to trust for an `https://` url (an internal ALB), besides the built-in roots and the system's certificate store.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub ca_bundle: Val<String>,
    /// Skip certificate checks, like `curl -k`. The last resort: the certificate is checked against `host_header` when set, so green's ALB hostname in `url` with the public name in `host_header` passes with checks on, and `ca_bundle` trusts a private CA. Defaults to `false`.
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

pub fn validate_rollout(r: &impl RolloutFields, base: &Path, diags: &mut Diagnostics) {
    if let Some(steps) = r.steps().known() {
        if let Err((i, msg)) = Rollout::check_steps(steps) {
            diags.error_at(base.clone().attr("steps").index(i), "Invalid rollout step", format!("{msg}."));
        }
    }
    check_duration(r.bake_time(), base.clone().attr("bake_time"), "bake_time", Duration::ZERO, Duration::from_secs(7 * 86_400), diags);
    check_duration(
        r.max_wait_per_apply(),
        base.clone().attr("max_wait_per_apply"),
        "max_wait_per_apply",
        Duration::ZERO,
        Duration::from_secs(7 * 86_400),
        diags,
    );
}

pub fn validate_observed_traffic(o: &ObservedTrafficModel, base: &Path, diags: &mut Diagnostics) {
    check_duration(&o.timeout, base.clone().attr("timeout"), "timeout", Duration::from_secs(1), Duration::from_secs(86_400), diags);
}

/// Which resource a gate belongs to: the switch has no target groups of its own to default to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateOwner {
    Switch,
    Canary,
}

fn check_window(v: &Val<String>, path: Path, diags: &mut Diagnostics) {
    let Some(s) = v.known() else { return };
    match duration::parse(s) {
        Err(e) => diags.error_at(path, "Invalid window", format!("{e}.")),
        Ok(d) if d.as_secs() % 60 != 0 || d.subsec_nanos() != 0 || d < Duration::from_secs(60) || d > Duration::from_secs(3600) => diags
            .error_at(
                path,
                "Invalid window",
                format!("window must be whole minutes from 1m to 1h (CloudWatch publishes load balancer metrics per minute), got {s:?}."),
            ),
        Ok(_) => {}
    }
}

fn require_green_tg(v: &Val<String>, owner: GateOwner, path: Path, diags: &mut Diagnostics) {
    if owner == GateOwner::Switch && v.is_null() {
        diags.error_at(
            path,
            "Missing green_target_group_arn",
            "bluegreen_switch has no target group of its own: set green_target_group_arn to the target group behind green's load balancer.",
        );
    }
}

fn check_tg_arn(v: &Val<String>, path: Path, diags: &mut Diagnostics) {
    if let Some(a) = v.known() {
        if !a.starts_with("arn:") || !a.contains(":targetgroup/") {
            diags.error_at(
                path,
                "Invalid target group ARN",
                format!("{a:?} is not a target group ARN (arn:aws:elasticloadbalancing:…:targetgroup/<name>/<id>)."),
            );
        }
    }
}

fn check_ignore_before(v: &Val<String>, path: Path, diags: &mut Diagnostics) {
    let Some(s) = v.known() else { return };
    match bluegreen_core::clock::parse(s) {
        Err(e) => diags.error_at(path, "Invalid ignore_before", format!("ignore_before: {e}.")),
        // A minute of leeway for a clock that runs a little behind the writer's.
        Ok(t) if t > bluegreen_core::clock::now() + Duration::from_secs(60) => diags.error_at(
            path,
            "ignore_before is in the future",
            format!(
                "ignore_before = {s:?} is later than now ({}): every alarm state change until then would go unjudged. \
                 Write the time after which history counts again, e.g. the end of the incident you reviewed.",
                bluegreen_core::clock::format(bluegreen_core::clock::now())
            ),
        ),
        Ok(_) => {}
    }
}

fn validate_cloudwatch_gate(g: &HealthGateModel, base: &Path, owner: GateOwner, diags: &mut Diagnostics) {
    check_ignore_before(&g.ignore_before, base.clone().attr("ignore_before"), diags);
    check_duration(
        &g.check_interval,
        base.clone().attr("check_interval"),
        "check_interval",
        Duration::from_secs(1),
        Duration::from_secs(300),
        diags,
    );
    if let Some(names) = g.cloudwatch_alarms.known() {
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                diags.error_at(base.clone().attr("cloudwatch_alarms").index(i), "Duplicate alarm", format!("alarm {n:?} is listed twice."));
            }
        }
    }
    if let Some(e) = &g.error_rate {
        let p = base.clone().attr("error_rate");
        require_green_tg(&e.green_target_group_arn, owner, p.clone().attr("green_target_group_arn"), diags);
        check_tg_arn(&e.green_target_group_arn, p.clone().attr("green_target_group_arn"), diags);
        check_tg_arn(&e.blue_target_group_arn, p.clone().attr("blue_target_group_arn"), diags);
        check_window(&e.window, p.clone().attr("window"), diags);
        if owner == GateOwner::Switch && e.max_percent_over_blue.known().is_some() && e.blue_target_group_arn.is_null() {
            diags.error_at(
                p.attr("blue_target_group_arn"),
                "Missing blue_target_group_arn",
                "max_percent_over_blue compares green with blue: set blue_target_group_arn to blue's target group.",
            );
        }
    }
    if let Some(l) = &g.latency {
        let p = base.clone().attr("latency");
        require_green_tg(&l.green_target_group_arn, owner, p.clone().attr("green_target_group_arn"), diags);
        check_tg_arn(&l.green_target_group_arn, p.clone().attr("green_target_group_arn"), diags);
        check_tg_arn(&l.blue_target_group_arn, p.clone().attr("blue_target_group_arn"), diags);
        check_window(&l.window, p.clone().attr("window"), diags);
        if let Some(s) = l.statistic.known() {
            if !STATISTICS.contains(&s.as_str()) {
                diags.error_at(
                    p.clone().attr("statistic"),
                    "Invalid statistic",
                    format!(
                        "statistic must be one of {}, got {s:?}.",
                        STATISTICS.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        check_duration(&l.max, p.clone().attr("max"), "max", Duration::from_millis(1), Duration::from_secs(3600), diags);
        check_duration(
            &l.max_over_blue,
            p.clone().attr("max_over_blue"),
            "max_over_blue",
            Duration::from_millis(1),
            Duration::from_secs(3600),
            diags,
        );
        if owner == GateOwner::Switch && l.max_over_blue.known().is_some() && l.blue_target_group_arn.is_null() {
            diags.error_at(
                p.attr("blue_target_group_arn"),
                "Missing blue_target_group_arn",
                "max_over_blue compares green with blue: set blue_target_group_arn to blue's target group.",
            );
        }
    }
}

/// `dns_failover`: the switch's only, and only with alarms to follow.
fn validate_dns_failover(g: &HealthGateModel, base: &Path, owner: GateOwner, diags: &mut Diagnostics) {
    if g.dns_failover.known() != Some(&true) {
        return;
    }
    let path = base.clone().attr("dns_failover");
    match owner {
        GateOwner::Canary => diags.error_at(
            path,
            "dns_failover is not available on canary_listener",
            "dns_failover works through Route 53 health checks on bluegreen_switch's weighted records. An ALB listener rule \
             has no equivalent without running code: no AWS feature takes a weighted target group out of a rule when an \
             alarm fires. To keep checking green between applies, run terraform apply on a schedule (see the scheduled \
             pipeline guide, docs/guides/scheduled-rollout.md), and remove dns_failover.",
        ),
        GateOwner::Switch if g.cloudwatch_alarms.known().is_some_and(Vec::is_empty) || g.cloudwatch_alarms.is_null() => diags.error_at(
            path,
            "dns_failover needs cloudwatch_alarms",
            "dns_failover makes Route 53 follow CloudWatch alarms; list at least one in health_gate.cloudwatch_alarms \
             (metric alarms in the provider's region), or remove dns_failover.",
        ),
        GateOwner::Switch => {}
    }
}

pub fn validate_gate(g: &HealthGateModel, base: &Path, owner: GateOwner, diags: &mut Diagnostics) {
    validate_dns_failover(g, base, owner, diags);
    validate_cloudwatch_gate(g, base, owner, diags);
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
        if let Some(Err(e)) = c.ca_bundle.known().map(|pem| bluegreen_core::probe::parse_ca_bundle(pem)) {
            diags.error_at(
                p.clone().attr("ca_bundle"),
                "Invalid ca_bundle",
                format!("ca_bundle must hold the private CA's certificates in PEM, but {e}."),
            );
        }
        check_duration(&c.timeout, p.attr("timeout"), "timeout", Duration::from_millis(100), Duration::from_secs(120), diags);
    }
}

/// A configured value that validation refuses, met while converting for the engine: an error pointing at it,
/// never a gate or rollout that quietly does less.
fn unusable(path: Path, what: &str, value: impl std::fmt::Debug) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error_at(path, format!("Invalid {what}"), format!("{value:?} cannot be used as {what}; nothing was changed."));
    d
}

// The conversions below run on a model whose schema defaults the adapter has
// filled in: a value that is still missing is this provider's bug at apply
// (and, at plan, an unknown value that skips the check), never a second
// default written here.

/// A duration attribute with a schema default: an error when it is not known
/// or not a duration.
fn duration_at(v: &Val<String>, path: impl FnOnce() -> Path, what: &str, resource: &str) -> Result<Duration, Diagnostics> {
    let text = v.needed(resource)?;
    duration::parse(text).map_err(|_| unusable(path(), what, text))
}

/// An optional duration attribute without a default: `None` when not set.
fn optional_duration_at(v: &Val<String>, path: impl FnOnce() -> Path, what: &str, resource: &str) -> Result<Option<Duration>, Diagnostics> {
    v.optional(resource)?.map(|text| duration::parse(text).map_err(|_| unusable(path(), what, text))).transpose()
}

/// A whole-number attribute with a schema default, in the engine's type.
fn count_at<T: TryFrom<i64>>(v: &Val<i64>, path: impl FnOnce() -> Path, what: &str, resource: &str) -> Result<T, Diagnostics> {
    let n = v.needed(resource)?;
    T::try_from(*n).map_err(|_| unusable(path(), what, n))
}

/// An optional list attribute: empty when not set.
fn list_at<'a, T>(v: &'a Val<Vec<T>>, resource: &str) -> Result<&'a [T], Diagnostics> {
    Ok(v.optional(resource)?.map_or(&[], Vec::as_slice))
}

pub fn rollout(r: Option<&impl RolloutFields>, resource: &str) -> Result<Option<Rollout>, Diagnostics> {
    let Some(r) = r else { return Ok(None) };
    let mut steps = Vec::new();
    for (i, x) in list_at(r.steps(), resource)?.iter().enumerate() {
        steps.push(u8::try_from(*x).map_err(|_| unusable(attr_path(&["rollout", "steps"]).index(i), "rollout step", x))?);
    }
    let bake = duration_at(r.bake_time(), || attr_path(&["rollout", "bake_time"]), "bake_time", resource)?;
    Ok(Some(Rollout { steps, bake }))
}

/// The engine's observed-traffic wait, re-checked on the gate's `check_interval`.
pub fn observed_traffic(
    r: Option<&SwitchRolloutModel>,
    gate: Option<&HealthGateModel>,
    resource: &str,
) -> Result<Option<ObservedTraffic>, Diagnostics> {
    let Some(o) = r.and_then(|r| r.observed_traffic.as_ref()) else { return Ok(None) };
    let at = |a: &str| attr_path(&["rollout", "observed_traffic", a]);
    Ok(Some(ObservedTraffic {
        blue_load_balancer_arn: o.blue_load_balancer_arn.needed(resource)?.clone(),
        green_load_balancer_arn: o.green_load_balancer_arn.needed(resource)?.clone(),
        tolerance: count_at(&o.tolerance, || at("tolerance"), "tolerance", resource)?,
        timeout: duration_at(&o.timeout, || at("timeout"), "timeout", resource)?,
        interval: check_interval(gate, resource)?,
    }))
}

/// The gate's re-check period; without a gate block (an observed-traffic
/// wait alone), the engine's own.
fn check_interval(g: Option<&HealthGateModel>, resource: &str) -> Result<Duration, Diagnostics> {
    match g {
        Some(g) => duration_at(&g.check_interval, || attr_path(&["health_gate", "check_interval"]), "check_interval", resource),
        None => Ok(bluegreen_core::gate::DEFAULT_CHECK_INTERVAL),
    }
}

/// What a resource's gate defaults to: the canary's own target groups; for a
/// switch, whether green has a load balancer of its own.
#[derive(Debug, Clone, Default)]
pub struct GateDefaults {
    /// The resource type, for a value missing at apply.
    pub resource: &'static str,
    /// Always checked for healthy targets (the canary's green target group).
    pub target_groups: Vec<String>,
    pub green_target_group: Option<String>,
    pub blue_target_group: Option<String>,
    /// A DNS cutover: green sits behind a load balancer of its own.
    pub own_load_balancer: bool,
    /// The canary's listener's load balancer, through which a target group not yet attached is measured.
    pub load_balancer: Option<String>,
}

impl GateDefaults {
    /// `bluegreen_switch`: a DNS cutover between two load balancers.
    pub fn switch() -> Self {
        GateDefaults { resource: "bluegreen_switch", own_load_balancer: true, ..GateDefaults::default() }
    }

    /// `canary_listener`: both target groups behind one listener; green's is always checked for healthy targets.
    pub fn canary(listener: &Val<String>, green: &Val<String>, blue: &Val<String>) -> Self {
        GateDefaults {
            resource: "canary_listener",
            target_groups: green.known().cloned().into_iter().collect(),
            green_target_group: green.known().cloned(),
            blue_target_group: blue.known().cloned(),
            own_load_balancer: false,
            load_balancer: listener.known().and_then(|l| listener_load_balancer(l)),
        }
    }
}

/// `…:listener/app/<name>/<lb id>/<listener id>` → `…:loadbalancer/app/<name>/<lb id>`.
pub fn listener_load_balancer(listener_arn: &str) -> Option<String> {
    let (head, rest) = listener_arn.split_once(":listener/")?;
    let (lb, _listener_id) = rest.rsplit_once('/')?;
    Some(format!("{head}:loadbalancer/{lb}"))
}

/// A target group the canary defaults to its own: `None` when neither is set.
fn known_or(v: &Val<String>, default: Option<&String>, resource: &str) -> Result<Option<String>, Diagnostics> {
    Ok(v.optional(resource)?.or(default).cloned())
}

/// Green's target group of a metric gate: validation requires one (the switch) or the canary supplies its own.
fn green_at(v: &Val<String>, defaults: &GateDefaults, path: impl FnOnce() -> Path) -> Result<String, Diagnostics> {
    known_or(v, defaults.green_target_group.as_ref(), defaults.resource)?.ok_or_else(|| unusable(path(), "green_target_group_arn", v))
}

/// Fills in `min_healthy_targets` (1) when the gate has target groups to count: its own `target_group_arns`, or
/// `counts_own` (the canary's green target group, always checked). Without any it stays null, so a plan does not show a
/// setting that does nothing; not yet known while the target groups are not.
pub fn complete_gate(g: &mut HealthGateModel, counts_own: bool) {
    if !g.min_healthy_targets.is_null() {
        return;
    }
    g.min_healthy_targets = match &g.target_group_arns {
        _ if counts_own => Val::Known(1),
        Val::Known(arns) if !arns.is_empty() => Val::Known(1),
        Val::Unknown => Val::Unknown,
        _ => Val::Null,
    };
}

/// The engine's gate, with the resource's defaults.
pub fn gate(g: Option<&HealthGateModel>, defaults: &GateDefaults) -> Result<Option<HealthGate>, Diagnostics> {
    let Some(g) = g else { return Ok(None) };
    let resource = defaults.resource;
    let at = |p: &[&str]| {
        let mut path = attr_path(&["health_gate"]);
        for a in p {
            path = path.attr(a);
        }
        path
    };
    let mut arns: Vec<String> = defaults.target_groups.clone();
    for a in list_at(&g.target_group_arns, resource)? {
        if !arns.contains(a) {
            arns.push(a.clone());
        }
    }
    let http_check = match &g.http_check {
        Some(c) => {
            let url_text = c.url.needed(resource)?.clone();
            let mut expect_status = Vec::new();
            for (i, x) in list_at(&c.expect_status, resource)?.iter().enumerate() {
                expect_status
                    .push(u16::try_from(*x).map_err(|_| unusable(at(&["http_check", "expect_status"]).index(i), "expect_status", x))?);
            }
            if expect_status.is_empty() {
                // The one default a list attribute cannot carry in the schema; its description says so.
                expect_status.push(200);
            }
            Some(HttpCheck {
                url: ProbeUrl::parse(&url_text).map_err(|_| unusable(at(&["http_check", "url"]), "http_check url", &url_text))?,
                url_text,
                host_header: c.host_header.known().cloned(),
                expect_status,
                insecure_tls: *c.insecure_tls.needed(resource)?,
                ca_bundle: match c.ca_bundle.known() {
                    Some(pem) => bluegreen_core::probe::parse_ca_bundle(pem)
                        .map_err(|_| unusable(at(&["http_check", "ca_bundle"]), "ca_bundle", "(PEM)"))?,
                    None => Vec::new(),
                },
                timeout: duration_at(&c.timeout, || at(&["http_check", "timeout"]), "timeout", resource)?,
            })
        }
        None => None,
    };
    let error_rate = match &g.error_rate {
        Some(e) => Some(ErrorRateGate {
            green_target_group_arn: green_at(&e.green_target_group_arn, defaults, || at(&["error_rate", "green_target_group_arn"]))?,
            blue_target_group_arn: known_or(&e.blue_target_group_arn, defaults.blue_target_group.as_ref(), resource)?,
            window: duration_at(&e.window, || at(&["error_rate", "window"]), "window", resource)?,
            min_requests: count_at(&e.min_requests, || at(&["error_rate", "min_requests"]), "min_requests", resource)?,
            max_percent: *e.max_percent.needed(resource)?,
            max_percent_over_blue: e.max_percent_over_blue.optional(resource)?.copied(),
            own_load_balancer: defaults.own_load_balancer,
        }),
        None => None,
    };
    let latency = match &g.latency {
        Some(l) => Some(LatencyGate {
            green_target_group_arn: green_at(&l.green_target_group_arn, defaults, || at(&["latency", "green_target_group_arn"]))?,
            blue_target_group_arn: known_or(&l.blue_target_group_arn, defaults.blue_target_group.as_ref(), resource)?,
            window: duration_at(&l.window, || at(&["latency", "window"]), "window", resource)?,
            min_requests: count_at(&l.min_requests, || at(&["latency", "min_requests"]), "min_requests", resource)?,
            statistic: l.statistic.needed(resource)?.clone(),
            // A limit that cannot be read must not become no limit.
            max: duration_at(&l.max, || at(&["latency", "max"]), "latency max", resource)?,
            max_over_blue: optional_duration_at(&l.max_over_blue, || at(&["latency", "max_over_blue"]), "latency max_over_blue", resource)?,
        }),
        None => None,
    };
    let min_healthy_targets = match (&g.min_healthy_targets, arns.is_empty()) {
        // Nothing to count (see complete_gate): the value is never used.
        (Val::Null, true) => 1,
        (v, _) => count_at(v, || at(&["min_healthy_targets"]), "min_healthy_targets", resource)?,
    };
    Ok(Some(HealthGate {
        target_group_arns: arns,
        min_healthy_targets,
        http_check,
        alarms: list_at(&g.cloudwatch_alarms, resource)?.to_vec(),
        insufficient_data: match g.alarm_insufficient_data.needed(resource)? {
            InsufficientDataModel::Fail => InsufficientData::Fail,
            InsufficientDataModel::Pass => InsufficientData::Pass,
        },
        check_interval: check_interval(Some(g), resource)?,
        error_rate,
        latency,
        fallback_load_balancer: defaults.load_balancer.clone(),
        ignore_before: match g.ignore_before.known() {
            // Validated: a time that cannot be read is an error, never "judge everything" or "nothing".
            Some(s) => Some(bluegreen_core::clock::parse(s).map_err(|_| unusable(at(&["ignore_before"]), "ignore_before", s))?),
            None => None,
        },
    }))
}

/// Whether the gate reads nothing from CloudWatch.
pub fn no_cloudwatch(g: &HealthGateModel) -> bool {
    g.cloudwatch_alarms.known().is_none_or(Vec::is_empty) && g.error_rate.is_none() && g.latency.is_none()
}

/// Whether every value the CloudWatch part of a gate refers to is known (not
/// computed by another resource at apply).
fn cloudwatch_refs_known(g: &HealthGateModel) -> bool {
    let tgs_known = |a: &Val<String>, b: &Val<String>| !a.is_unknown() && !b.is_unknown();
    !g.cloudwatch_alarms.is_unknown()
        && g.error_rate.as_ref().is_none_or(|e| tgs_known(&e.green_target_group_arn, &e.blue_target_group_arn))
        && g.latency.as_ref().is_none_or(|l| tgs_known(&l.green_target_group_arn, &l.blue_target_group_arn))
}

/// Whether a plan may raise green traffic (the only case a gate is checked
/// for): a create above 0, or an update to a higher (or not yet known) value.
pub fn may_increase(prior: Option<&Val<i64>>, proposed: &Val<i64>) -> bool {
    match (prior.map(Val::known), proposed.known()) {
        (_, None) => true,
        (None, Some(to)) => *to > 0,
        (Some(None), Some(_)) => true,
        (Some(Some(from)), Some(to)) => to > from,
    }
}

/// At plan, with a configured provider, when the plan may raise traffic:
/// alarms that do not exist and target groups without a load balancer are
/// errors before any traffic moves. A decrease is never gated, so never
/// refused for a gate's sake.
pub async fn check_gate_setup(
    ctx: Option<&Ctx>,
    increasing: bool,
    g: Option<&HealthGateModel>,
    defaults: &GateDefaults,
    diags: &mut Diagnostics,
) {
    let (Some(ctx), Some(model), true) = (ctx, g, increasing) else { return };
    if !cloudwatch_refs_known(model) {
        return;
    }
    // A gate that cannot be converted is reported by validation.
    let Ok(Some(gate)) = gate(Some(model), defaults).map(|g| g.filter(HealthGate::uses_cloudwatch)) else { return };
    let probe = AwsGateProbe::new(&ctx.clients);
    if let Err(problems) = gate.check_setup(&probe).await {
        for p in problems {
            let path = match &p {
                // A target group taken from the canary's own: point at the block that defaulted it.
                SetupProblem::TargetGroup { gate, .. } if defaults.green_target_group.is_some() && !gate_attr_set(model, *gate) => {
                    gate_path(match gate {
                        GateKind::ErrorRate(_) => GateKind::ErrorRate(MetricPart::Whole),
                        GateKind::Latency(_) => GateKind::Latency(MetricPart::Whole),
                        other => *other,
                    })
                }
                other => gate_path(other.gate()),
            };
            let (summary, advice) = match &p {
                SetupProblem::MissingAlarms(_) => (
                    "CloudWatch alarm not found",
                    // The provider looks in one account and region only: name them, since a wrong one is a common cause.
                    format!(
                        "The provider looked in {}region {}. Create the alarm there first (or fix the name: names are \
                         case-sensitive), or point the provider at the account and region that hold it.",
                        ctx.clients.account.as_ref().map(|a| format!("account {a}, ")).unwrap_or_default(),
                        ctx.clients.region
                    ),
                ),
                SetupProblem::TargetGroup { .. } => (
                    "Target group cannot be measured",
                    "CloudWatch publishes a target group's request metrics per load balancer it serves.".to_string(),
                ),
                SetupProblem::Unreadable { .. } => ("Health gate cannot be checked", "Check the provider's credentials and permissions (cloudwatch:DescribeAlarms, elasticloadbalancing:DescribeTargetGroups).".to_string()),
            };
            diags.error_at(path, summary, format!("{p}. {advice} No traffic has moved."));
        }
    }
}

/// Whether the attribute a setup problem names is set in configuration (else it came from the resource's defaults).
fn gate_attr_set(g: &HealthGateModel, gate: GateKind) -> bool {
    let set = |v: Option<&Val<String>>| v.is_some_and(|v| !v.is_null());
    match gate {
        GateKind::ErrorRate(MetricPart::GreenTargetGroup) => set(g.error_rate.as_ref().map(|e| &e.green_target_group_arn)),
        GateKind::ErrorRate(MetricPart::BlueTargetGroup) => set(g.error_rate.as_ref().map(|e| &e.blue_target_group_arn)),
        GateKind::Latency(MetricPart::GreenTargetGroup) => set(g.latency.as_ref().map(|l| &l.green_target_group_arn)),
        GateKind::Latency(MetricPart::BlueTargetGroup) => set(g.latency.as_ref().map(|l| &l.blue_target_group_arn)),
        _ => true,
    }
}

pub fn on_gate_failure(v: &Val<OnGateFailureModel>, resource: &str) -> Result<OnGateFailure, Diagnostics> {
    Ok(match v.needed(resource)? {
        OnGateFailureModel::Halt => OnGateFailure::Halt,
        OnGateFailureModel::Rollback => OnGateFailure::Rollback,
    })
}

/// "`health_gate.…`: what was seen." for a diagnostic's detail.
fn failure_sentence(f: &GateFailure) -> String {
    format!("{}: {}.", gate_name(f.gate), observation(f).trim_end_matches('.'))
}

/// Diagnostics for an engine outcome, shared with the ALB canary.
pub fn outcome_diags(outcome: &ShiftOutcome, at: TrafficSplit, to: TrafficSplit, diags: &mut Diagnostics, now: &str) {
    let state = format!("{now}: {}% green, {}% blue.", at.green(), at.blue());
    match outcome {
        ShiftOutcome::Reached => {}
        ShiftOutcome::GateBlocked(f) => diags.error_at(
            gate_path(f.gate),
            "Health gate failed: traffic not increased",
            format!(
                "{}\n\nNo traffic was moved to green. {state} Fix green (or the gate), then apply again to reach {}%.{}",
                failure_sentence(f),
                to.green(),
                if f.gate == GateKind::AlarmHistory {
                    " Once you know why the alarm fired and that it is over, set health_gate.ignore_before to a time after \
                     it: history before that time is no longer judged (the alarms' current state still is)."
                } else {
                    ""
                }
            ),
        ),
        ShiftOutcome::RolledBack(f) => diags.error_at(
            gate_path(f.gate),
            format!("Health gate failed: traffic rolled back to {}%", at.green()),
            format!("{}\n\non_gate_failure = \"rollback\" returned traffic to where this apply started. {state}", failure_sentence(f)),
        ),
        ShiftOutcome::Halted(f) => diags.error_at(
            gate_path(f.gate),
            format!("Health gate failed: rollout halted at {}%", at.green()),
            format!("{}\n\non_gate_failure = \"halt\" returned traffic to the last step that passed. {state}", failure_sentence(f)),
        ),
        ShiftOutcome::Paused(p) => pause_diag(p, to, diags),
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

/// The engine's plan for moving to `traffic` with a resource's rollout,
/// gate and `on_gate_failure`. Its `from` is left at all blue:
/// `cutover::create` and `cutover::update` start from what they make or find.
pub fn shift_plan(
    traffic: &Val<i64>,
    rollout_model: Option<&impl RolloutFields>,
    gate_model: Option<&HealthGateModel>,
    defaults: &GateDefaults,
    on_failure: &Val<OnGateFailureModel>,
    observed_traffic: Option<ObservedTraffic>,
) -> Result<ShiftPlan, Diagnostics> {
    let Some(to) = target_split(traffic) else {
        let mut d = Diagnostics::new();
        d.bug("traffic is not known at apply");
        return Err(d);
    };
    Ok(ShiftPlan {
        from: TrafficSplit::ALL_BLUE,
        to,
        rollout: rollout(rollout_model, defaults.resource)?,
        gate: gate(gate_model, defaults)?,
        on_gate_failure: on_gate_failure(on_failure, defaults.resource)?,
        gate_already_passed: false,
        observed_traffic,
        clock: StepClock::default(),
    })
}

/// How a resource words the outcome of a create.
pub struct CreateWords<'a, M> {
    /// What a failed create was doing ("Creating the switch").
    pub creating: &'a str,
    /// Where a refusal to create points.
    pub refusal_path: fn(&Error) -> Option<Path>,
    /// What a wait for the create to take effect is ("Waiting for Route 53").
    pub waiting: &'a str,
    /// Where traffic is after a gate failed before anything was made.
    pub blocked: &'a str,
    /// Where traffic is after a create that was undone.
    pub undone: fn(&M) -> String,
    /// Where traffic is otherwise ("Route 53 now answers").
    pub now: &'a str,
}

/// What a create made and left in effect.
pub struct Kept<M, R> {
    /// What was made.
    pub made: M,
    /// The split in effect.
    pub at: TrafficSplit,
    /// The receipts of the shift's writes.
    pub writes: Vec<R>,
    /// When `at` was reached.
    pub shifted_at: SystemTime,
    /// The rollout paused at a step (`max_wait_per_apply`): the state keeps the configured `traffic`.
    pub paused: bool,
}

/// What a create leaves behind (`None` when nothing exists), with diagnostics.
pub type CreateResult<M, R> = (Option<Kept<M, R>>, Diagnostics);

/// Creates a cutover and shifts it to `plan.to` (see [`cutover::create`]);
/// its outcome as what exists and diagnostics.
pub async fn create<C: Cutover>(
    ctx: &Ctx,
    cutover: &C,
    plan: &ShiftPlan,
    words: &CreateWords<'_, C::Made>,
) -> CreateResult<C::Made, <C::Router as TrafficRouter>::Receipt> {
    let probe = AwsGateProbe::new(&ctx.clients);
    let target = plan.to;
    let mut diags = Diagnostics::new();
    let kept = match cutover::create(cutover, &probe, plan, &ctx.stop).await {
        Created::Blocked { failure, at } => {
            outcome_diags(&ShiftOutcome::GateBlocked(failure), at, target, &mut diags, words.blocked);
            None
        }
        Created::Failed(e) => {
            report(&mut diags, &e, (words.refusal_path)(&e), words.creating);
            None
        }
        Created::Unsettled { made, at, error } => {
            report(&mut diags, &error, None, words.waiting);
            if matches!(error, Error::Cancelled(_)) && at == target {
                // Ctrl-C while the new cutover, already at its target, waits to take effect: it exists as planned and
                // will take effect. As an error Terraform would taint it, and replacing it would mean destroying one
                // that may split traffic (refused). (Stopped at any other split, the state cannot match the plan
                // without an error, and Terraform taints it; see docs/guides/failure-modes.md.)
                for d in &mut diags.0 {
                    d.severity = crate::diag::Severity::Warning;
                }
            }
            Some(Kept { made, at, writes: Vec::new(), shifted_at: clock::now(), paused: false })
        }
        Created::Undone { made, report } => {
            outcome_diags(&report.outcome, report.at, target, &mut diags, &(words.undone)(&made));
            None
        }
        Created::Made { made, report, undo_failed } => {
            if let Some(e) = undo_failed {
                diags.extend(error_from(&e, None, "Undoing the create"));
            }
            outcome_diags(&report.outcome, report.at, target, &mut diags, words.now);
            let paused = matches!(report.outcome, ShiftOutcome::Paused(_));
            Some(Kept { made, at: report.at, writes: report.writes, shifted_at: report.shifted_at.unwrap_or_else(clock::now), paused })
        }
    };
    (kept, diags)
}

/// `traffic` as a split, once known and in range.
pub fn target_split(traffic: &Val<i64>) -> Option<TrafficSplit> {
    traffic.known().and_then(|t| u8::try_from(*t).ok()).and_then(TrafficSplit::green_percent)
}

/// `traffic` and the computed `blue_weight`, `green_weight` and `active` that
/// follow from a split: the one derivation every resource's plan, apply, read
/// and import use. While the split is unknown, `traffic` stays as it is and
/// the rest is unknown.
pub fn split_attrs(split: Option<TrafficSplit>, traffic: &Val<i64>) -> (Val<i64>, Val<i64>, Val<i64>, Val<String>) {
    match split {
        Some(s) => (
            Val::Known(i64::from(s.green())),
            Val::Known(i64::from(s.blue())),
            Val::Known(i64::from(s.green())),
            Val::Known(s.active().as_str().to_string()),
        ),
        None => (traffic.clone(), Val::Unknown, Val::Unknown, Val::Unknown),
    }
}

/// The split a state's weights hold, when known.
fn state_split(green_weight: &Val<i64>) -> Option<TrafficSplit> {
    target_split(green_weight)
}

/// The step's clock as both resources' models carry it (`traffic`, `green_weight`, `shifted_at`), and the two ways an
/// apply or a refresh sets it.
pub trait Clocked: Sized {
    /// `green_weight` and `shifted_at`, as in this (prior) state.
    fn clock(&self) -> (&Val<i64>, &Val<String>);
    /// `traffic` and `shifted_at`, to set.
    fn clock_mut(&mut self) -> (&mut Val<i64>, &mut Val<String>);

    /// `shifted_at` after `at` was found in effect, from this prior state (see [`shifted_at`]).
    fn shifted_at_from(&self, at: TrafficSplit, reached: Option<SystemTime>) -> Val<String> {
        let (green_weight, prior) = self.clock();
        shifted_at(Some(green_weight), Some(prior), at, reached)
    }

    /// The step's clock in state; a paused rollout keeps the configured `traffic` (the weights are the real ones).
    fn with_clock(mut self, at: Val<String>, paused_at: Option<&Val<i64>>) -> Self {
        let (traffic, shifted) = self.clock_mut();
        *shifted = at;
        if let Some(t) = paused_at {
            *traffic = t.clone();
        }
        self
    }
}

/// `shifted_at` after an apply or a refresh found `at` in effect: when this apply reached it (`reached`), else the prior
/// one while the split is unchanged, else now (a split changed outside Terraform gets the time it was seen).
pub fn shifted_at(
    prior_weight: Option<&Val<i64>>,
    prior_shifted_at: Option<&Val<String>>,
    at: TrafficSplit,
    reached: Option<SystemTime>,
) -> Val<String> {
    if let Some(t) = reached {
        return Val::Known(clock::format(t));
    }
    match (prior_weight.and_then(state_split), prior_shifted_at.and_then(Val::known)) {
        (Some(was), Some(when)) if was == at && clock::parse(when).is_ok() => Val::Known(when.clone()),
        _ => Val::Known(clock::format(clock::now())),
    }
}

/// The engine's step clock at apply: when the split in the prior state was reached, and `max_wait_per_apply`.
pub fn step_clock(
    prior_weight: Option<&Val<i64>>,
    prior_shifted_at: Option<&Val<String>>,
    rollout_model: Option<&impl RolloutFields>,
    ctx: &Ctx,
    resource: &str,
) -> Result<StepClock, Diagnostics> {
    let reached = match (prior_weight.and_then(state_split), prior_shifted_at.and_then(Val::known).map(|t| clock::parse(t))) {
        (Some(split), Some(Ok(when))) => Some((split, when)),
        _ => None,
    };
    let max_wait = match rollout_model {
        Some(r) => {
            optional_duration_at(r.max_wait_per_apply(), || attr_path(&["rollout", "max_wait_per_apply"]), "max_wait_per_apply", resource)?
        }
        None => None,
    };
    Ok(StepClock { reached, max_wait, credentials_expire: ctx.clients.credentials_expire })
}

/// What a prior state says of the split, for the plan.
pub struct PriorSplit<'a> {
    pub traffic: &'a Val<i64>,
    pub blue_weight: &'a Val<i64>,
    pub green_weight: &'a Val<i64>,
    pub active: &'a Val<String>,
    pub shifted_at: &'a Val<String>,
}

/// Whether an apply of this plan may pause at a step (`rollout.max_wait_per_apply` set, or credentials that expire
/// (`expiring`), and a bake on the way, the one at the split in effect included).
pub fn may_pause(from: Option<&Val<i64>>, traffic: &Val<i64>, rollout_model: Option<&impl RolloutFields>, expiring: bool) -> bool {
    let Some(r) = rollout_model else { return false };
    if r.max_wait_per_apply().is_null() && !expiring {
        return false;
    }
    let from = from.map_or(Some(0), |w| w.known().copied());
    let (Some(from), Some(to)) = (from, traffic.known().copied()) else { return true };
    if to <= from {
        return false;
    }
    let bakes = match r.bake_time().known().map(|b| duration::parse(b)) {
        Some(Ok(d)) => !d.is_zero(),
        _ => true,
    };
    bakes && r.steps().known().is_none_or(|steps| steps.iter().any(|s| *s >= from && *s < to))
}

/// The planned `blue_weight`, `green_weight`, `active` and `shifted_at`. While `traffic` does not change (and the
/// resource is not replaced) they are the prior ones: a plan never moves traffic. When it changes, they follow from
/// the new value, with `shifted_at` unknown; all four are unknown when the apply may pause at a step (see
/// [`may_pause`]), since it ends at weights not known now.
pub fn plan_split(
    prior: Option<PriorSplit<'_>>,
    traffic: &Val<i64>,
    rollout_model: Option<&impl RolloutFields>,
    ctx: Option<&Ctx>,
) -> (Val<i64>, Val<i64>, Val<String>, Val<String>) {
    if let Some(p) = &prior {
        if p.traffic.known().is_some() && p.traffic.known() == traffic.known() && p.shifted_at.known().is_some() {
            return (p.blue_weight.clone(), p.green_weight.clone(), p.active.clone(), p.shifted_at.clone());
        }
    }
    let expiring = ctx.is_some_and(|c| c.clients.credentials_expire.is_some());
    if may_pause(prior.as_ref().map(|p| p.traffic), traffic, rollout_model, expiring) {
        return (Val::Unknown, Val::Unknown, Val::Unknown, Val::Unknown);
    }
    let (_, b, g, a) = split_attrs(target_split(traffic), traffic);
    (b, g, a, Val::Unknown)
}

/// The warning of a rollout paused at a step.
fn pause_diag(p: &Pause, to: TrafficSplit, diags: &mut Diagnostics) {
    let bake = clock::since(p.ready_at, p.reached_at);
    let ready = clock::format(p.ready_at);
    let why = match &p.reason {
        PauseReason::MaxWaitPerApply(max) => {
            format!("rollout.max_wait_per_apply = \"{}\" does not let this apply wait for it", duration::format(*max))
        }
        PauseReason::CredentialsExpire(at) => format!(
            "the AWS credentials expire at {} and cannot be renewed by the provider, so this apply starts no wait that ends after {} \
             (5 minutes before)",
            clock::format(*at),
            clock::format(*at - bluegreen_core::engine::CREDENTIALS_MARGIN)
        ),
    };
    diags.warning(
        format!("Rollout paused at {}% green (step {} of rollout.steps)", p.at.green(), p.at.green()),
        format!(
            "Traffic stays at {}% green, {}% blue: step {} % of rollout.steps, reached at {}. Its bake_time of {} \
             ends at {}; {why}. Apply again after {ready} to go on toward {}%: an apply before then changes nothing. The next \
             refresh reads traffic = {} from AWS, so the next plan shows the rest of the way.",
            p.at.green(),
            p.at.blue(),
            p.at.green(),
            clock::format(p.reached_at),
            duration::format(bake),
            ready,
            to.green(),
            p.at.green()
        ),
    );
}

/// One engine error as diagnostics.
pub fn error_from(e: &bluegreen_core::Error, path: Option<Path>, context: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    report(&mut d, e, path, context);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_or_rollout_that_cannot_be_converted_is_an_error_not_a_pass() {
        let g = HealthGateModel {
            http_check: Some(HttpCheckModel { url: Val::Known("not a url".into()), ..HttpCheckModel::default() }),
            ..HealthGateModel::default()
        };
        let d = gate(Some(&g), &GateDefaults::switch()).unwrap_err();
        assert_eq!(d.0[0].path, Some(attr_path(&["health_gate", "http_check", "url"])));
        let r = RolloutModel { steps: Val::Known(vec![10]), bake_time: Val::Known("five minutes".into()), max_wait_per_apply: Val::Null };
        let d = rollout(Some(&r), "canary_listener").unwrap_err();
        assert_eq!(d.0[0].path, Some(attr_path(&["rollout", "bake_time"])));
        let r = RolloutModel { steps: Val::Known(vec![10, 300]), bake_time: Val::Known("0s".into()), max_wait_per_apply: Val::Null };
        assert_eq!(rollout(Some(&r), "canary_listener").unwrap_err().0[0].path, Some(attr_path(&["rollout", "steps"]).index(1)));
    }

    /// The schema's defaults are filled in by the adapter before a gate is converted; one still missing is a bug
    /// said so, never a second default here (which could differ from the schema's, or weaken the gate).
    #[test]
    fn a_value_the_schema_defaults_is_not_defaulted_again() {
        let bug = |d: Diagnostics| {
            assert_eq!(d.0[0].summary, "Provider bug", "{:?}", d.0);
            assert!(d.0[0].detail.starts_with("bluegreen_switch: a value needed at apply is not known"), "{:?}", d.0);
        };
        bug(rollout(
            Some(&RolloutModel { steps: Val::Known(vec![10]), bake_time: Val::Null, max_wait_per_apply: Val::Null }),
            "bluegreen_switch",
        )
        .unwrap_err());
        bug(gate(Some(&HealthGateModel::default()), &GateDefaults::switch()).unwrap_err());
        let unknown_window = ErrorRateModel { window: Val::Unknown, ..defaulted_error_rate() };
        let g = HealthGateModel { error_rate: Some(unknown_window), ..defaulted_gate() };
        bug(gate(Some(&g), &GateDefaults::switch()).unwrap_err());
        // With the schema's defaults it converts, to the values the schema documents.
        let g = HealthGateModel { error_rate: Some(defaulted_error_rate()), ..defaulted_gate() };
        let gate = gate(Some(&g), &GateDefaults::switch()).unwrap().unwrap();
        assert_eq!((gate.min_healthy_targets, gate.check_interval), (1, Duration::from_secs(30)));
        let e = gate.error_rate.unwrap();
        assert_eq!((e.window, e.min_requests), (Duration::from_secs(300), 100));
    }

    /// A gate block as the adapter hands it over: the schema's defaults filled in (through the switch's model).
    /// Issue 19: a plan showed `min_healthy_targets = 1` for a switch gate without target groups.
    #[test]
    fn min_healthy_targets_defaults_only_where_there_is_a_target_group_to_count() {
        let completed = |arns: Val<Vec<String>>, counts_own: bool| {
            let mut g = HealthGateModel { target_group_arns: arns, ..HealthGateModel::default() };
            complete_gate(&mut g, counts_own);
            g.min_healthy_targets
        };
        let some = || Val::Known(vec!["arn:tg".to_string()]);
        assert_eq!(completed(Val::Null, false), Val::Null, "nothing to count");
        assert_eq!(completed(Val::Known(vec![]), false), Val::Null);
        assert_eq!(completed(some(), false), Val::Known(1));
        assert_eq!(completed(Val::Unknown, false), Val::Unknown, "known once the target groups are");
        assert_eq!(completed(Val::Null, true), Val::Known(1), "the canary counts its green target group");
        let mut set = HealthGateModel { min_healthy_targets: Val::Known(3), ..HealthGateModel::default() };
        complete_gate(&mut set, false);
        assert_eq!(set.min_healthy_targets, Val::Known(3), "a configured value stays");
    }

    fn defaulted_gate() -> HealthGateModel {
        defaulted(HealthGateModel::default())
    }

    fn defaulted_error_rate() -> ErrorRateModel {
        let e = ErrorRateModel {
            green_target_group_arn: Val::Known("arn:aws:elasticloadbalancing:eu-west-1:000000000000:targetgroup/g/1".into()),
            max_percent: Val::Known(1.0),
            ..ErrorRateModel::default()
        };
        defaulted(HealthGateModel { error_rate: Some(e), ..HealthGateModel::default() }).error_rate.unwrap()
    }

    fn defaulted(g: HealthGateModel) -> HealthGateModel {
        use crate::resources::switch::{SwitchModel, SwitchResource};
        let m = crate::resource::with_defaults::<SwitchResource>(SwitchModel { health_gate: Some(g), ..SwitchModel::default() });
        m.health_gate.unwrap()
    }

    #[test]
    fn each_gate_kind_names_its_own_attribute() {
        use MetricPart::*;
        let kinds = [
            (GateKind::TargetGroups, "health_gate.target_group_arns"),
            (GateKind::MinHealthyTargets, "health_gate.min_healthy_targets"),
            (GateKind::HttpCheck, "health_gate.http_check"),
            (GateKind::CloudWatchAlarms, "health_gate.cloudwatch_alarms"),
            (GateKind::AlarmHistory, "health_gate.cloudwatch_alarms"),
            (GateKind::ErrorRate(Whole), "health_gate.error_rate"),
            (GateKind::ErrorRate(MinRequests), "health_gate.error_rate.min_requests"),
            (GateKind::ErrorRate(Max), "health_gate.error_rate.max_percent"),
            (GateKind::ErrorRate(OverBlue), "health_gate.error_rate.max_percent_over_blue"),
            (GateKind::ErrorRate(GreenTargetGroup), "health_gate.error_rate.green_target_group_arn"),
            (GateKind::ErrorRate(BlueTargetGroup), "health_gate.error_rate.blue_target_group_arn"),
            (GateKind::Latency(Whole), "health_gate.latency"),
            (GateKind::Latency(MinRequests), "health_gate.latency.min_requests"),
            (GateKind::Latency(Max), "health_gate.latency.max"),
            (GateKind::Latency(OverBlue), "health_gate.latency.max_over_blue"),
            (GateKind::Latency(GreenTargetGroup), "health_gate.latency.green_target_group_arn"),
            (GateKind::Latency(BlueTargetGroup), "health_gate.latency.blue_target_group_arn"),
            (GateKind::ObservedTraffic, "rollout.observed_traffic"),
        ];
        for (kind, name) in kinds {
            assert_eq!(gate_name(kind), name, "{kind:?}");
            assert_eq!(gate_path(kind), attr_path(&name.split('.').collect::<Vec<_>>()), "{kind:?}");
        }
        // Every attribute named is in the schema the resources share.
        let g = serde_json::to_value(schemars::schema_for!(HealthGateModel)).unwrap().to_string();
        for (_, name) in kinds.iter().filter(|(_, n)| n.starts_with("health_gate.")) {
            let leaf = name.rsplit('.').next().unwrap();
            assert!(g.contains(&format!("\"{leaf}\"")), "{leaf} is not an attribute of health_gate");
        }
    }

    #[test]
    fn a_gate_failure_is_worded_with_its_attribute_advice_and_step() {
        let mut f = GateFailure::new(
            GateKind::ErrorRate(MetricPart::MinRequests),
            "not judged by the end of the bake: green received 3 request(s)",
        );
        f.at_step = Some(10);
        assert_eq!(
            failure_sentence(&f),
            "health_gate.error_rate.min_requests: not judged by the end of the bake: green received 3 request(s). Green cannot be \
             judged on so little traffic: raise the step, lengthen bake_time or error_rate.window, or lower min_requests (at step 10 %)."
        );
        let f = GateFailure::new(GateKind::Latency(MetricPart::Max), "green's p99 response time is 900 ms; max = 800ms.");
        assert_eq!(failure_sentence(&f), "health_gate.latency.max: green's p99 response time is 900 ms; max = 800ms.");
        let mut d = Diagnostics::new();
        let at = TrafficSplit::green_percent(0).unwrap();
        outcome_diags(&ShiftOutcome::RolledBack(f), at, TrafficSplit::green_percent(50).unwrap(), &mut d, "Route 53 now answers");
        assert_eq!(d.0[0].path, Some(attr_path(&["health_gate", "latency", "max"])));
        assert_eq!(d.0[0].summary, "Health gate failed: traffic rolled back to 0%");
    }

    #[test]
    fn only_a_plan_that_may_raise_traffic_checks_the_gate() {
        assert!(may_increase(None, &Val::Known(10)));
        assert!(!may_increase(None, &Val::Known(0)), "a create at 0 moves nothing");
        assert!(may_increase(Some(&Val::Known(10)), &Val::Known(50)));
        assert!(!may_increase(Some(&Val::Known(50)), &Val::Known(10)), "a decrease is never gated");
        assert!(!may_increase(Some(&Val::Known(50)), &Val::Known(50)));
        assert!(may_increase(Some(&Val::Known(50)), &Val::Unknown));
    }
}
