//! Health gates: what must be true of green before more traffic goes to it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::aws::cloudwatch::ALARM_HISTORY_RETENTION;
use crate::aws::elbv2::{Elbv2Api, Selector};
use crate::aws::watch::{CloudWatchReader, WatchAnswer, WatchRequest};
use crate::aws::AwsClients;
use crate::legacy::{target_group_health, HealthCounts};
use crate::metric_gate::{judge_alarm_history, judge_alarms, ErrorRateGate, InsufficientData, Judgement, LatencyGate, LoadBalancers, Span};
use crate::probe::{self, ProbeUrl};
pub use crate::verdict::{GateFailure, GateKind, MetricPart};

/// Today's re-check period during a bake, when none is configured.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
/// The checks that must pass before traffic moves toward green and during every bake; an empty gate passes.
pub struct HealthGate {
    /// Each must have at least `min_healthy_targets` healthy targets.
    pub target_group_arns: Vec<String>,
    /// Healthy targets each target group needs (default 1).
    pub min_healthy_targets: u32,
    /// An HTTP request to green that must answer with an expected status.
    pub http_check: Option<HttpCheck>,
    /// CloudWatch alarms none of which may be in ALARM.
    pub alarms: Vec<String>,
    /// How an alarm or metric gate without data counts (default: passes).
    pub insufficient_data: InsufficientData,
    /// Re-check period during a bake.
    pub check_interval: Duration,
    /// Green's 5xx share over a window must stay under a limit.
    pub error_rate: Option<ErrorRateGate>,
    /// Green's response time over a window must stay under a limit.
    pub latency: Option<LatencyGate>,
    /// The load balancer a target group without one is measured through: a
    /// canary's listener's, which its rule attaches green to.
    pub fallback_load_balancer: Option<String>,
    /// Alarm history and metrics before this moment are not judged (an
    /// incident at the step that is understood); the current state still is.
    pub ignore_before: Option<SystemTime>,
}

/// Where the time judged at a split starts, and why there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowStart {
    /// When the split in effect was reached.
    Reached,
    /// The gate's `ignore_before`, later than that.
    IgnoreBefore,
    /// As far back as CloudWatch keeps alarm history ([`ALARM_HISTORY_RETENTION`]).
    Retention,
}

/// The split a check is made at: when it was reached, and whether the metric
/// gates are judged over the whole time since (needed when part of that time
/// was not watched by this process: between applies; a bake watched from its
/// start was judged window by window already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtSplit {
    /// When the split in effect was reached.
    pub reached: SystemTime,
    /// Judge `error_rate` and `latency` over the whole time too (not during a bake).
    pub whole_metrics: bool,
}

/// The time a gate judges as a whole before an increase: from when the
/// split in effect was reached (or `ignore_before`, or the retention limit,
/// whichever is latest) until now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Its first moment.
    pub from: SystemTime,
    /// Why it starts there.
    pub start: WindowStart,
}

impl Window {
    /// "since 2026-12-08T00:55:00Z, when this split was reached", …
    pub fn words(&self) -> String {
        let t = crate::clock::format(self.from);
        match self.start {
            WindowStart::Reached => format!("since {t}, when this split was reached"),
            WindowStart::IgnoreBefore => format!("since ignore_before ({t})"),
            WindowStart::Retention => {
                format!("since {t}: the last 14 days only, as long as CloudWatch keeps alarm history (this split was reached earlier)")
            }
        }
    }
}

impl Default for HealthGate {
    fn default() -> Self {
        HealthGate {
            target_group_arns: Vec::new(),
            min_healthy_targets: 1,
            http_check: None,
            alarms: Vec::new(),
            insufficient_data: InsufficientData::Pass,
            check_interval: DEFAULT_CHECK_INTERVAL,
            error_rate: None,
            latency: None,
            fallback_load_balancer: None,
            ignore_before: None,
        }
    }
}

/// When a gate is checked; metric gates that cannot be judged yet pass
/// except at the end of a bake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckPoint {
    /// Before the first increase of this apply: green has had little or no traffic.
    BeforeFirstIncrease,
    /// During a bake, every `check_interval`.
    DuringBake,
    /// At the end of a bake, before the next increase.
    EndOfBake,
}

/// Something a gate refers to that is not there, found before any traffic moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupProblem {
    /// Named alarms that do not exist.
    MissingAlarms(Vec<String>),
    /// A target group that serves no load balancer (CloudWatch has no metrics for it), or does not exist.
    TargetGroup {
        /// The gate that names it.
        gate: GateKind,
        /// The target group's ARN.
        arn: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The check could not be made.
    Unreadable {
        /// The gate whose check failed.
        gate: GateKind,
        /// Why it could not be made.
        message: String,
    },
}

impl SetupProblem {
    /// The part of the gate it is about.
    pub fn gate(&self) -> GateKind {
        match self {
            SetupProblem::MissingAlarms(_) => GateKind::CloudWatchAlarms,
            SetupProblem::TargetGroup { gate, .. } | SetupProblem::Unreadable { gate, .. } => *gate,
        }
    }
}

impl std::fmt::Display for SetupProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupProblem::MissingAlarms(names) => {
                let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                write!(f, "no alarm named {} in this account and region", list.join(", "))
            }
            SetupProblem::TargetGroup { arn, problem, .. } => write!(f, "target group {} {problem}", short_tg_name(arn)),
            SetupProblem::Unreadable { message, .. } => write!(f, "{message}"),
        }
    }
}

/// Green checked through its own path (its own ALB hostname), before users
/// reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// The URL requested.
    pub url: ProbeUrl,
    /// As written, for messages.
    pub url_text: String,
    /// A `Host` header to send instead of the URL's host.
    pub host_header: Option<String>,
    /// Statuses that pass; any other status, or no answer, fails.
    pub expect_status: Vec<u16>,
    /// Accept any TLS certificate (green behind a self-signed or mismatched one).
    pub insecure_tls: bool,
    /// Extra trusted roots (a private CA), besides the built-in and the system's.
    pub ca_bundle: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

/// What a gate looks at, behind a trait so tests can script it.
#[async_trait]
pub trait GateProbe: Send + Sync {
    /// How many targets of the target group are healthy, and of how many; `Err` says why it could not be read.
    async fn target_health(&self, target_group_arn: &str) -> Result<HealthCounts, String>;
    /// The status green answers `check` with; `Err` says why there was no answer.
    async fn http_status(&self, check: &HttpCheck) -> Result<u16, String>;
    /// The load balancers each target group serves; a target group that
    /// does not exist is left out.
    async fn load_balancers(&self, _target_group_arns: &[String]) -> Result<LoadBalancers, String> {
        Err("no ELBv2 client to look up target groups".into())
    }
    /// Alarm states and metric values: during a bake at most one `interval`
    /// old (read on the shared grid); before an increase, fresh.
    async fn cloudwatch(&self, _req: &WatchRequest, _interval: Duration, _at: CheckPoint) -> Result<WatchAnswer, String> {
        Err("no CloudWatch client".into())
    }
    /// When the next check during a bake is due.
    fn next_check(&self, interval: Duration) -> Instant {
        Instant::now() + interval
    }
    /// When a bake that must last until `end` ends: on a check of the grid
    /// checks are read on, so its last check reads values as fresh as that
    /// check's, shared with the other resources checking then.
    fn bake_end(&self, end: Instant, _interval: Duration) -> Instant {
        end
    }
}

/// The real probe: ELBv2 target health, an HTTP GET, and CloudWatch through
/// the process-wide shared reader.
pub struct AwsGateProbe {
    /// Reads target health and the target groups' load balancers.
    pub elbv2: Arc<dyn Elbv2Api>,
    /// Reads alarms and metrics (shared, one call per check for every gate).
    pub cloudwatch: CloudWatchReader,
    /// Target group → load balancers, looked up once per apply.
    lbs: Mutex<LoadBalancers>,
}

impl AwsGateProbe {
    /// A probe over the configured clients.
    pub fn new(clients: &AwsClients) -> Self {
        Self::with(clients.elbv2.clone(), clients.cloudwatch.clone())
    }

    /// A probe over these clients (fakes in tests).
    pub fn with(elbv2: Arc<dyn Elbv2Api>, cloudwatch: CloudWatchReader) -> Self {
        AwsGateProbe { elbv2, cloudwatch, lbs: Mutex::default() }
    }
}

#[async_trait]
impl GateProbe for AwsGateProbe {
    async fn target_health(&self, arn: &str) -> Result<HealthCounts, String> {
        target_group_health(self.elbv2.as_ref(), arn).await.map_err(|e| e.to_string())
    }

    async fn http_status(&self, c: &HttpCheck) -> Result<u16, String> {
        let trust = probe::TlsTrust { ca_bundle: c.ca_bundle.clone(), insecure: c.insecure_tls };
        probe::http_status(&c.url, c.host_header.as_deref(), &trust, c.timeout).await
    }

    async fn load_balancers(&self, arns: &[String]) -> Result<LoadBalancers, String> {
        let missing: Vec<String> = {
            let known = self.lbs.lock().expect("lock");
            arns.iter().filter(|a| !known.contains_key(*a)).cloned().collect()
        };
        if !missing.is_empty() {
            let found = match self.elbv2.describe_target_groups(&Selector::Arns(missing.clone())).await {
                Ok(f) => f,
                // AWS fails the whole call when one is missing: ask one by one to say which.
                Err(e) if e.kind == crate::AwsErrorKind::NotFound && missing.len() > 1 => {
                    let mut f = Vec::new();
                    for a in &missing {
                        match self.elbv2.describe_target_groups(&Selector::Arns(vec![a.clone()])).await {
                            Ok(one) => f.extend(one),
                            Err(e) if e.kind == crate::AwsErrorKind::NotFound => {}
                            Err(e) => return Err(e.to_string()),
                        }
                    }
                    f
                }
                Err(e) if e.kind == crate::AwsErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e.to_string()),
            };
            let mut known = self.lbs.lock().expect("lock");
            for mut tg in found {
                // Each load balancer once (moto lists one per listener rule that forwards to the group).
                tg.load_balancer_arns.sort();
                tg.load_balancer_arns.dedup();
                known.insert(tg.arn, tg.load_balancer_arns);
            }
        }
        let known = self.lbs.lock().expect("lock");
        Ok(arns.iter().filter_map(|a| known.get(a).map(|l| (a.clone(), l.clone()))).collect())
    }

    async fn cloudwatch(&self, req: &WatchRequest, interval: Duration, at: CheckPoint) -> Result<WatchAnswer, String> {
        let read = match at {
            // A bake's end is on a tick (see `bake_end`): the tick's values are fresh.
            CheckPoint::DuringBake | CheckPoint::EndOfBake => self.cloudwatch.read_every(req, interval).await,
            CheckPoint::BeforeFirstIncrease => self.cloudwatch.read_fresh(req, interval).await,
        };
        read.map_err(|e| e.to_string())
    }

    fn next_check(&self, interval: Duration) -> Instant {
        self.cloudwatch.next_tick(interval)
    }

    fn bake_end(&self, end: Instant, interval: Duration) -> Instant {
        self.cloudwatch.tick_at_or_after(end, interval)
    }
}

impl HealthGate {
    /// Checks every condition before the first increase; see [`HealthGate::evaluate_at`].
    pub async fn evaluate(&self, probe: &dyn GateProbe) -> Result<Vec<String>, GateFailure> {
        self.evaluate_at(probe, CheckPoint::BeforeFirstIncrease).await
    }

    /// The time judged as a whole at a split reached at `reached` (unknown: none).
    pub fn window(&self, reached: Option<SystemTime>) -> Option<Window> {
        let reached = reached?;
        let (from, start) = match self.ignore_before {
            Some(i) if i > reached => (i, WindowStart::IgnoreBefore),
            _ => (reached, WindowStart::Reached),
        };
        let oldest = crate::clock::now().checked_sub(ALARM_HISTORY_RETENTION).unwrap_or(SystemTime::UNIX_EPOCH);
        Some(if from < oldest { Window { from: oldest, start: WindowStart::Retention } } else { Window { from, start } })
    }

    /// Target groups whose metrics the gate reads.
    fn metric_target_groups(&self) -> Vec<(GateKind, &String)> {
        let mut v = Vec::new();
        if let Some(e) = &self.error_rate {
            v.push((GateKind::ErrorRate(MetricPart::GreenTargetGroup), &e.green_target_group_arn));
            if let Some(b) = e.blue_target_group_arn.as_ref().filter(|_| e.max_percent_over_blue.is_some()) {
                v.push((GateKind::ErrorRate(MetricPart::BlueTargetGroup), b));
            }
        }
        if let Some(l) = &self.latency {
            v.push((GateKind::Latency(MetricPart::GreenTargetGroup), &l.green_target_group_arn));
            if let Some(b) = l.blue_target_group_arn.as_ref().filter(|_| l.max_over_blue.is_some()) {
                v.push((GateKind::Latency(MetricPart::BlueTargetGroup), b));
            }
        }
        v
    }

    /// Whether the gate reads CloudWatch at all.
    pub fn uses_cloudwatch(&self) -> bool {
        !self.alarms.is_empty() || self.error_rate.is_some() || self.latency.is_some()
    }

    /// Finds what the gate refers to that is not there: alarms that do not
    /// exist, target groups without a load balancer. Every problem is listed.
    pub async fn check_setup(&self, probe: &dyn GateProbe) -> Result<LoadBalancers, Vec<SetupProblem>> {
        self.setup(probe, true).await
    }

    async fn setup(&self, probe: &dyn GateProbe, alarms: bool) -> Result<LoadBalancers, Vec<SetupProblem>> {
        let mut problems = Vec::new();
        let tgs = self.metric_target_groups();
        let mut lbs = LoadBalancers::new();
        if !tgs.is_empty() {
            let arns: Vec<String> = tgs.iter().map(|(_, a)| (*a).clone()).collect();
            match probe.load_balancers(&arns).await {
                Ok(mut found) => {
                    if let Some(lb) = &self.fallback_load_balancer {
                        for lbs in found.values_mut().filter(|l| l.is_empty()) {
                            lbs.push(lb.clone());
                        }
                    }
                    for (gate, arn) in &tgs {
                        match found.get(*arn) {
                            None => problems.push(SetupProblem::TargetGroup { gate: *gate, arn: (*arn).clone(), problem: "does not exist".into() }),
                            Some(l) if l.is_empty() => problems.push(SetupProblem::TargetGroup {
                                gate: *gate,
                                arn: (*arn).clone(),
                                problem: "serves no load balancer, so CloudWatch publishes no request metrics for it; attach it to a listener first".into(),
                            }),
                            Some(_) => {}
                        }
                    }
                    lbs = found;
                }
                Err(e) => problems.push(SetupProblem::Unreadable {
                    gate: tgs[0].0,
                    message: format!("could not read the target groups' load balancers: {e}"),
                }),
            }
        }
        if alarms && !self.alarms.is_empty() {
            let req = WatchRequest { alarms: self.alarms.clone(), queries: vec![], ..Default::default() };
            match probe.cloudwatch(&req, self.check_interval, CheckPoint::BeforeFirstIncrease).await {
                Ok(a) => {
                    let missing: Vec<String> =
                        self.alarms.iter().filter(|n| a.alarms.get(*n).is_none_or(Option::is_none)).cloned().collect();
                    if !missing.is_empty() {
                        problems.push(SetupProblem::MissingAlarms(missing));
                    }
                }
                Err(e) => problems.push(SetupProblem::Unreadable {
                    gate: GateKind::CloudWatchAlarms,
                    message: format!("could not read the alarms: {e}"),
                }),
            }
        }
        if problems.is_empty() {
            Ok(lbs)
        } else {
            Err(problems)
        }
    }

    /// The CloudWatch part: alarms and metric gates. Read first, so that the
    /// gates woken by one tick reach the shared reader together.
    async fn evaluate_cloudwatch(
        &self,
        probe: &dyn GateProbe,
        at: CheckPoint,
        window: Option<Window>,
        whole_metrics: bool,
        seen: &mut Vec<String>,
    ) -> Result<(), GateFailure> {
        if !self.uses_cloudwatch() {
            return Ok(());
        }
        // Missing alarms are found by the read below, in the same round.
        let lbs = self.setup(probe, false).await.map_err(|problems| {
            GateFailure::new(problems[0].gate(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
        })?;
        let history_since = window.filter(|_| !self.alarms.is_empty()).map(|w| w.from);
        let mut req = WatchRequest { alarms: self.alarms.clone(), queries: Vec::new(), history_since };
        // Before an increase, the metric gates are judged over the whole time at the split too, when that is
        // longer than their window (whole minutes: CloudWatch's resolution).
        let whole = window.filter(|_| whole_metrics && at != CheckPoint::DuringBake).and_then(|w| {
            let end = crate::aws::watch::window_end(crate::clock::now());
            let secs = crate::clock::since(end, w.from).as_secs() / 60 * 60;
            Some((w, Duration::from_secs(secs))).filter(|(_, d)| !d.is_zero())
        });
        let whole_error_rate = self
            .error_rate
            .as_ref()
            .and_then(|e| whole.filter(|(_, d)| *d > e.window).map(|(w, d)| (w, ErrorRateGate { window: d, ..e.clone() })));
        let whole_latency = self
            .latency
            .as_ref()
            .and_then(|l| whole.filter(|(_, d)| *d > l.window).map(|(w, d)| (w, LatencyGate { window: d, ..l.clone() })));
        for e in self.error_rate.iter().chain(whole_error_rate.as_ref().map(|(_, e)| e)) {
            e.queries(&lbs, &mut req.queries);
        }
        for l in self.latency.iter().chain(whole_latency.as_ref().map(|(_, l)| l)) {
            l.queries(&lbs, &mut req.queries);
        }
        let answer = probe.cloudwatch(&req, self.check_interval, at).await.map_err(|e| {
            // The first CloudWatch part of the gate: alarms, else the error rate, else the latency.
            let gate = match (&self.alarms.is_empty(), &self.error_rate) {
                (false, _) => GateKind::CloudWatchAlarms,
                (true, Some(_)) => GateKind::ErrorRate(MetricPart::Whole),
                (true, None) => GateKind::Latency(MetricPart::Whole),
            };
            GateFailure::new(gate, format!("could not read CloudWatch: {e}"))
        })?;
        if !self.alarms.is_empty() {
            match judge_alarms(&self.alarms, self.insufficient_data, &answer) {
                Ok(s) => seen.push(s),
                Err((_, observation)) => return Err(GateFailure::new(GateKind::CloudWatchAlarms, observation)),
            }
            // Between two checks, and between two applies: every moment since the split was reached.
            if let Some(w) = window {
                match judge_alarm_history(&self.alarms, self.insufficient_data, &answer.history, &answer, &w.words()) {
                    Ok(s) => seen.push(s),
                    Err(observation) => return Err(GateFailure::new(GateKind::AlarmHistory, observation)),
                }
            }
        }
        let judged = [
            self.error_rate.as_ref().map(|e| (GateKind::ErrorRate as fn(MetricPart) -> GateKind, "error_rate", e.judge(&lbs, &answer))),
            self.latency.as_ref().map(|l| (GateKind::Latency as fn(MetricPart) -> GateKind, "latency", l.judge(&lbs, &answer))),
        ];
        // Then the same gates over the whole time at the split; too few requests there is no failure (the
        // trailing window above was judged already).
        let judged_whole = [
            whole_error_rate.as_ref().map(|(w, e)| {
                (GateKind::ErrorRate as fn(MetricPart) -> GateKind, "error_rate", e.judge_over(&lbs, &answer, &Span::Since(w.words())))
            }),
            whole_latency.as_ref().map(|(w, l)| {
                (GateKind::Latency as fn(MetricPart) -> GateKind, "latency", l.judge_over(&lbs, &answer, &Span::Since(w.words())))
            }),
        ];
        let judged_whole = judged_whole.into_iter().flatten().map(|(kind, name, j)| match j {
            Judgement::NotJudged(why) => (kind, name, Judgement::Pass(format!("{name} over the whole split not judged: {why}"))),
            other => (kind, name, other),
        });
        for (kind, name, j) in judged.into_iter().flatten().chain(judged_whole) {
            match j {
                Judgement::Pass(s) => seen.push(s),
                Judgement::Fail { part, observation } => return Err(GateFailure::new(kind(part), observation)),
                Judgement::NotJudged(why) if at == CheckPoint::EndOfBake => {
                    return Err(GateFailure::new(kind(MetricPart::MinRequests), format!("not judged by the end of the bake: {why}")))
                }
                Judgement::NotJudged(why) => {
                    tracing::info!(gate = name, "{name} not judged yet: {why}");
                    seen.push(format!("{name} not judged yet: {why}"));
                }
            }
        }
        Ok(())
    }

    /// Checks every condition; the first failure is returned. A check that
    /// cannot be made (AWS error, no answer) fails the gate: more traffic
    /// goes to green only on evidence that it is healthy.
    pub async fn evaluate_at(&self, probe: &dyn GateProbe, at: CheckPoint) -> Result<Vec<String>, GateFailure> {
        self.evaluate_since(probe, at, None).await
    }

    /// Like [`HealthGate::evaluate_at`], at a split known to be reached when
    /// `split` says: the alarms' history is judged over the whole time since
    /// then (between two checks, between two applies), and, when asked and not
    /// during a bake, the metric gates too (see [`HealthGate::window`]).
    pub async fn evaluate_since(&self, probe: &dyn GateProbe, at: CheckPoint, split: Option<AtSplit>) -> Result<Vec<String>, GateFailure> {
        let mut seen = Vec::new();
        let window = self.window(split.map(|s| s.reached));
        self.evaluate_cloudwatch(probe, at, window, split.is_some_and(|s| s.whole_metrics), &mut seen).await?;
        for arn in &self.target_group_arns {
            let name = short_tg_name(arn);
            match probe.target_health(arn).await {
                Ok(c) if c.healthy >= self.min_healthy_targets => {
                    seen.push(format!("target group {name}: {} of {} targets healthy", c.healthy, c.total));
                }
                Ok(c) => {
                    let seen = if c.total == 0 {
                        "has no registered targets".to_string()
                    } else {
                        format!("has {} healthy target(s) of {} registered{}", c.healthy, c.total, describe_states(&c))
                    };
                    return Err(GateFailure::new(
                        GateKind::MinHealthyTargets,
                        format!("target group {name} {seen}; at least {} healthy required", self.min_healthy_targets),
                    ));
                }
                Err(e) => {
                    return Err(GateFailure::new(GateKind::TargetGroups, format!("could not read the health of target group {name}: {e}")))
                }
            }
        }
        if let Some(check) = &self.http_check {
            let host = check.host_header.as_deref().map(|h| format!(" (Host: {h})")).unwrap_or_default();
            match probe.http_status(check).await {
                Ok(code) if check.expect_status.contains(&code) => seen.push(format!("GET {}{host} answered {code}", check.url_text)),
                Ok(code) => {
                    return Err(GateFailure::new(
                        GateKind::HttpCheck,
                        format!("GET {}{host} answered {code}; expected {}", check.url_text, list(&check.expect_status)),
                    ))
                }
                Err(e) => return Err(GateFailure::new(GateKind::HttpCheck, format!("GET {}{host} failed: {e}", check.url_text))),
            }
        }
        Ok(seen)
    }
}

fn list(codes: &[u16]) -> String {
    codes.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
}

fn describe_states(c: &HealthCounts) -> String {
    if c.by_state.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = c.by_state.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!(" ({})", parts.join(", "))
}

/// `targetgroup/<name>/<id>` → `<name>`, for readable messages.
pub fn short_tg_name(arn: &str) -> &str {
    arn.split(":targetgroup/").nth(1).and_then(|r| r.split('/').next()).unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Scripted {
        health: HashMap<String, Result<HealthCounts, String>>,
        http: Result<u16, String>,
    }

    #[async_trait]
    impl GateProbe for Scripted {
        async fn target_health(&self, arn: &str) -> Result<HealthCounts, String> {
            self.health.get(arn).cloned().unwrap_or_else(|| Err("no such target group".into()))
        }
        async fn http_status(&self, _c: &HttpCheck) -> Result<u16, String> {
            self.http.clone()
        }
    }

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ecs/0123456789abcdef";

    fn gate(http: bool) -> HealthGate {
        HealthGate {
            target_group_arns: vec![TG.into()],
            http_check: http.then(|| HttpCheck {
                url: ProbeUrl::parse("https://new-alb/healthz").unwrap(),
                url_text: "https://new-alb/healthz".into(),
                host_header: Some("api.example.com".into()),
                expect_status: vec![200],
                insecure_tls: true,
                ca_bundle: Vec::new(),
                timeout: Duration::from_secs(5),
            }),
            ..HealthGate::default()
        }
    }

    fn probe(healthy: &[&str], http: Result<u16, String>) -> Scripted {
        Scripted { health: [(TG.to_string(), Ok(HealthCounts::from_states(healthy.iter().copied())))].into(), http }
    }

    #[tokio::test]
    async fn passes_with_healthy_targets_and_expected_status() {
        let seen = gate(true).evaluate(&probe(&["healthy", "healthy"], Ok(200))).await.unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].contains("ecs: 2 of 2 targets healthy"), "{seen:?}");
    }

    #[tokio::test]
    async fn empty_target_group_fails_naming_the_gate() {
        let f = gate(false).evaluate(&probe(&[], Ok(200))).await.unwrap_err();
        assert_eq!(f.gate, GateKind::MinHealthyTargets);
        assert_eq!(f.observation, "target group ecs has no registered targets; at least 1 healthy required");
    }

    #[tokio::test]
    async fn unhealthy_states_are_listed() {
        let f = gate(false).evaluate(&probe(&["unhealthy", "initial"], Ok(200))).await.unwrap_err();
        assert_eq!(
            f.observation,
            "target group ecs has 0 healthy target(s) of 2 registered (1 initial, 1 unhealthy); at least 1 healthy required"
        );
    }

    #[tokio::test]
    async fn wrong_status_fails_the_http_check() {
        let f = gate(true).evaluate(&probe(&["healthy"], Ok(503))).await.unwrap_err();
        assert_eq!(f.gate, GateKind::HttpCheck);
        assert_eq!(f.observation, "GET https://new-alb/healthz (Host: api.example.com) answered 503; expected 200");
    }

    #[tokio::test]
    async fn an_unreadable_gate_fails_closed() {
        let p = Scripted { health: HashMap::new(), http: Ok(200) };
        let f = gate(false).evaluate(&p).await.unwrap_err();
        assert_eq!(f.gate, GateKind::TargetGroups);
        let f = gate(true).evaluate(&probe(&["healthy"], Err("connection refused".into()))).await.unwrap_err();
        assert!(f.observation.contains("failed: connection refused"));
    }
}
