//! Gates on what users see, read from CloudWatch: alarms, green's error rate
//! and latency (optionally against blue's), and the share of requests green
//! really receives after a DNS step.
//!
//! Metrics are read the way AWS publishes them: a target group's
//! `RequestCount`, `HTTPCode_Target_5XX_Count` and `TargetResponseTime` under
//! TargetGroup + LoadBalancer (one series per load balancer the target group
//! serves, added up), `HTTPCode_ELB_5XX_Count` and a load balancer's own
//! `RequestCount` under LoadBalancer alone. Ratios and comparisons are
//! computed here from Sum and statistic values: metric math is not
//! available on every endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::aws::cloudwatch::{AlarmStateValue, AlarmTransition, MetricQuery};
use crate::aws::watch::{WatchAnswer, WatchRequest};
use crate::duration;
use crate::verdict::MetricPart;

const NAMESPACE: &str = "AWS/ApplicationELB";

/// How an alarm in `INSUFFICIENT_DATA` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsufficientData {
    #[default]
    /// Counts as passing: no data is not a failure.
    Pass,
    /// Counts as failing: no data is no evidence green is fine.
    Fail,
}

/// Green's 5xx rate over a trailing window, optionally against blue's.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRateGate {
    /// Green's target group.
    pub green_target_group_arn: String,
    /// Blue's target group, to compare against; `None`: an absolute limit only.
    pub blue_target_group_arn: Option<String>,
    /// The trailing window the rate is summed over.
    pub window: Duration,
    /// Green requests in the window below which the gate does not judge.
    pub min_requests: u64,
    /// The highest 5xx share of green's requests, in percent.
    pub max_percent: f64,
    /// How many points of percentage green's 5xx share may exceed blue's.
    pub max_percent_over_blue: Option<f64>,
    /// Green may sit behind a load balancer of its own (a DNS cutover): then
    /// the 5xx that load balancer generates itself count too — unless green's
    /// and blue's target groups turn out to share a load balancer.
    pub own_load_balancer: bool,
}

/// A statistic of green's `TargetResponseTime`, optionally against blue's.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyGate {
    /// Green's target group.
    pub green_target_group_arn: String,
    /// Blue's target group, to compare against; `None`: an absolute limit only.
    pub blue_target_group_arn: Option<String>,
    /// The trailing window the statistic covers.
    pub window: Duration,
    /// Green requests in the window below which the gate does not judge.
    pub min_requests: u64,
    /// `Average`, `p50`, `p90`, `p95`, `p99`, `p99.9`.
    pub statistic: String,
    /// The highest allowed value of the statistic.
    pub max: Duration,
    /// How much green's statistic may exceed blue's.
    pub max_over_blue: Option<Duration>,
}

/// The statistics a latency gate accepts.
pub const STATISTICS: &[&str] = &["Average", "p50", "p90", "p95", "p99", "p99.9"];

/// After a DNS step, wait until green's share of the two load balancers'
/// requests follows the weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTraffic {
    /// The ARN of the load balancer blue is served through.
    pub blue_load_balancer_arn: String,
    /// The ARN of the load balancer green is served through.
    pub green_load_balancer_arn: String,
    /// Points of percentage the observed share may differ from the step.
    pub tolerance: u8,
    /// How long to wait for the share to follow before failing.
    pub timeout: Duration,
    /// How often to look while waiting.
    pub interval: Duration,
}

/// `…:targetgroup/<name>/<id>` → `targetgroup/<name>/<id>`, the dimension value.
pub fn target_group_dimension(arn: &str) -> String {
    arn.split_once(":targetgroup/").map(|(_, r)| format!("targetgroup/{r}")).unwrap_or_else(|| arn.to_string())
}

/// `…:loadbalancer/app/<name>/<id>` → `app/<name>/<id>`, the dimension value.
pub fn load_balancer_dimension(arn: &str) -> String {
    arn.split_once(":loadbalancer/").map(|(_, r)| r.to_string()).unwrap_or_else(|| arn.to_string())
}

fn lb_short(arn: &str) -> String {
    let d = load_balancer_dimension(arn);
    d.split('/').nth(1).unwrap_or(&d).to_string()
}

pub(crate) fn tg_query(metric: &str, stat: &str, tg: &str, lb: &str, window: Duration) -> MetricQuery {
    MetricQuery {
        namespace: NAMESPACE.into(),
        metric_name: metric.into(),
        dimensions: vec![("TargetGroup".into(), target_group_dimension(tg)), ("LoadBalancer".into(), load_balancer_dimension(lb))],
        stat: stat.into(),
        period: window,
    }
}

pub(crate) fn lb_query(metric: &str, lb: &str, window: Duration) -> MetricQuery {
    MetricQuery {
        namespace: NAMESPACE.into(),
        metric_name: metric.into(),
        dimensions: vec![("LoadBalancer".into(), load_balancer_dimension(lb))],
        stat: "Sum".into(),
        period: window,
    }
}

/// Which load balancers each target group serves (from DescribeTargetGroups).
pub type LoadBalancers = BTreeMap<String, Vec<String>>;

/// One side's target group and the load balancers it is measured through.
struct Side<'a> {
    tg: &'a str,
    lbs: &'a [String],
    elb_5xx: bool,
}

impl Side<'_> {
    fn queries(&self, window: Duration, out: &mut Vec<MetricQuery>) {
        for lb in self.lbs {
            out.push(tg_query("RequestCount", "Sum", self.tg, lb, window));
            out.push(tg_query("HTTPCode_Target_5XX_Count", "Sum", self.tg, lb, window));
            if self.elb_5xx {
                out.push(lb_query("HTTPCode_ELB_5XX_Count", lb, window));
            }
        }
    }

    /// (requests, 5xx) in the window.
    fn counts(&self, window: Duration, a: &WatchAnswer) -> (f64, f64) {
        let mut requests = 0.0;
        let mut errors = 0.0;
        for lb in self.lbs {
            requests += a.value(&tg_query("RequestCount", "Sum", self.tg, lb, window)).unwrap_or(0.0);
            errors += a.value(&tg_query("HTTPCode_Target_5XX_Count", "Sum", self.tg, lb, window)).unwrap_or(0.0);
            if self.elb_5xx {
                // Answered by the load balancer itself: a request no target saw.
                let elb = a.value(&lb_query("HTTPCode_ELB_5XX_Count", lb, window)).unwrap_or(0.0);
                errors += elb;
                requests += elb;
            }
        }
        (requests, errors)
    }

    /// The statistic over the window: `Average` weighted by each load
    /// balancer's requests; a percentile the highest of the load balancers'
    /// (percentiles do not add up).
    fn latency(&self, stat: &str, window: Duration, a: &WatchAnswer) -> Option<f64> {
        let mut weighted = 0.0;
        let mut weight = 0.0;
        let mut highest: Option<f64> = None;
        for lb in self.lbs {
            let Some(v) = a.value(&tg_query("TargetResponseTime", stat, self.tg, lb, window)) else { continue };
            let n = a.value(&tg_query("RequestCount", "Sum", self.tg, lb, window)).unwrap_or(0.0);
            weighted += v * n;
            weight += n;
            highest = Some(highest.map_or(v, |h: f64| h.max(v)));
        }
        if stat == "Average" && weight > 0.0 {
            Some(weighted / weight)
        } else {
            highest
        }
    }
}

/// The outcome of one metric gate.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// Within limits; what was seen.
    Pass(String),
    /// Too few requests to judge; why.
    NotJudged(String),
    /// Over a limit: which one and what was seen.
    Fail {
        /// The limit that was exceeded: [`MetricPart::Max`] or [`MetricPart::OverBlue`].
        part: MetricPart,
        /// What was seen.
        observation: String,
    },
}

fn lbs_of<'a>(lbs: &'a LoadBalancers, tg: &str) -> &'a [String] {
    lbs.get(tg).map(Vec::as_slice).unwrap_or(&[])
}

fn shares_lb(lbs: &LoadBalancers, a: &str, b: Option<&String>) -> bool {
    b.is_some_and(|b| lbs_of(lbs, a).iter().any(|l| lbs_of(lbs, b).contains(l)))
}

fn pct(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    format!("{r} %")
}

fn window_text(w: Duration) -> String {
    duration::format(w)
}

/// The time a metric gate is judged over, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// The gate's trailing `window`, ending now.
    Trailing(Duration),
    /// Everything since a moment, said as given (e.g. "since 2026-12-08T00:55:00Z, when this split was reached").
    Since(String),
}

impl Span {
    /// "in the last 1m", or the moment it starts.
    fn within(&self) -> String {
        match self {
            Span::Trailing(w) => format!("in the last {}", window_text(*w)),
            Span::Since(s) => s.clone(),
        }
    }

    /// "over the last 1m", or the moment it starts.
    fn over(&self) -> String {
        match self {
            Span::Trailing(w) => format!("over the last {}", window_text(*w)),
            Span::Since(s) => s.clone(),
        }
    }
}

fn count(x: f64) -> String {
    format!("{}", x.round() as u64)
}

impl ErrorRateGate {
    fn sides<'a>(&'a self, lbs: &'a LoadBalancers) -> (Side<'a>, Option<Side<'a>>) {
        let elb_5xx = self.own_load_balancer && !shares_lb(lbs, &self.green_target_group_arn, self.blue_target_group_arn.as_ref());
        let green = Side { tg: &self.green_target_group_arn, lbs: lbs_of(lbs, &self.green_target_group_arn), elb_5xx };
        let blue = self.blue_target_group_arn.as_deref().map(|tg| Side { tg, lbs: lbs_of(lbs, tg), elb_5xx });
        (green, blue)
    }

    /// Adds the metric queries this gate needs to `out`.
    pub fn queries(&self, lbs: &LoadBalancers, out: &mut Vec<MetricQuery>) {
        let (green, blue) = self.sides(lbs);
        green.queries(self.window, out);
        if self.max_percent_over_blue.is_some() {
            if let Some(b) = blue {
                b.queries(self.window, out);
            }
        }
    }

    /// Judges green's error rate over its trailing window from what was read.
    pub fn judge(&self, lbs: &LoadBalancers, a: &WatchAnswer) -> Judgement {
        self.judge_over(lbs, a, &Span::Trailing(self.window))
    }

    /// Judges green's error rate from what was read for `self.window`, saying it covers `span`.
    pub fn judge_over(&self, lbs: &LoadBalancers, a: &WatchAnswer, span: &Span) -> Judgement {
        let (green, blue) = self.sides(lbs);
        let w = span.within();
        let (req, err) = green.counts(self.window, a);
        if req < self.min_requests as f64 {
            return Judgement::NotJudged(format!(
                "green received {} request(s) {w}, fewer than min_requests = {}",
                count(req),
                self.min_requests
            ));
        }
        let rate = 100.0 * err / req;
        let seen = format!("green's 5xx rate is {} ({} of {} requests {w})", pct(rate), count(err), count(req));
        if rate > self.max_percent {
            return Judgement::Fail { part: MetricPart::Max, observation: format!("{seen}; max_percent = {}", self.max_percent) };
        }
        if let (Some(over), Some(blue)) = (self.max_percent_over_blue, blue) {
            let (breq, berr) = blue.counts(self.window, a);
            if breq < self.min_requests as f64 {
                return Judgement::NotJudged(format!(
                    "blue received {} request(s) {w}, fewer than min_requests = {}: no baseline to compare green with",
                    count(breq),
                    self.min_requests
                ));
            }
            let brate = 100.0 * berr / breq;
            if rate - brate > over {
                return Judgement::Fail {
                    part: MetricPart::OverBlue,
                    observation: format!(
                        "{seen}, blue's {} ({} of {}): {} points above blue; max_percent_over_blue = {over}",
                        pct(brate),
                        count(berr),
                        count(breq),
                        (((rate - brate) * 100.0).round() / 100.0)
                    ),
                };
            }
            return Judgement::Pass(format!("{seen}, blue's {}", pct(brate)));
        }
        Judgement::Pass(seen)
    }
}

fn ms(seconds: f64) -> String {
    format!("{} ms", (seconds * 1000.0).round() as u64)
}

impl LatencyGate {
    fn green(&self) -> &str {
        &self.green_target_group_arn
    }

    /// Adds the metric queries this gate needs to `out`.
    pub fn queries(&self, lbs: &LoadBalancers, out: &mut Vec<MetricQuery>) {
        let mut tgs = vec![self.green()];
        if self.max_over_blue.is_some() {
            tgs.extend(self.blue_target_group_arn.as_deref());
        }
        for tg in tgs {
            for lb in lbs_of(lbs, tg) {
                out.push(tg_query("RequestCount", "Sum", tg, lb, self.window));
                out.push(tg_query("TargetResponseTime", &self.statistic, tg, lb, self.window));
            }
        }
    }

    /// Judges green's latency over its trailing window from what was read.
    pub fn judge(&self, lbs: &LoadBalancers, a: &WatchAnswer) -> Judgement {
        self.judge_over(lbs, a, &Span::Trailing(self.window))
    }

    /// Judges green's latency from what was read for `self.window`, saying it covers `span`.
    pub fn judge_over(&self, lbs: &LoadBalancers, a: &WatchAnswer, span: &Span) -> Judgement {
        let w = span.within();
        let green = Side { tg: self.green(), lbs: lbs_of(lbs, self.green()), elb_5xx: false };
        let (req, _) = green.counts(self.window, a);
        let stat = &self.statistic;
        if req < self.min_requests as f64 {
            return Judgement::NotJudged(format!(
                "green received {} request(s) {w}, fewer than min_requests = {}",
                count(req),
                self.min_requests
            ));
        }
        let Some(v) = green.latency(stat, self.window, a) else {
            return Judgement::NotJudged(format!("CloudWatch has no {stat} TargetResponseTime for green {w}"));
        };
        let seen = format!("green's {stat} response time is {} {}", ms(v), span.over());
        let max = self.max.as_secs_f64();
        if v > max {
            return Judgement::Fail { part: MetricPart::Max, observation: format!("{seen}; max = {}", duration::format(self.max)) };
        }
        if let (Some(over), Some(btg)) = (self.max_over_blue, self.blue_target_group_arn.as_deref()) {
            let blue = Side { tg: btg, lbs: lbs_of(lbs, btg), elb_5xx: false };
            let (breq, _) = blue.counts(self.window, a);
            let bv = if breq < self.min_requests as f64 { None } else { blue.latency(stat, self.window, a) };
            let Some(bv) = bv else {
                return Judgement::NotJudged(format!(
                    "blue received {} request(s) {w} (min_requests = {}): no baseline to compare green with",
                    count(breq),
                    self.min_requests
                ));
            };
            if v - bv > over.as_secs_f64() {
                return Judgement::Fail {
                    part: MetricPart::OverBlue,
                    observation: format!(
                        "{seen}, blue's {}: {} slower than blue; max_over_blue = {}",
                        ms(bv),
                        ms(v - bv),
                        duration::format(over)
                    ),
                };
            }
            return Judgement::Pass(format!("{seen}, blue's {}", ms(bv)));
        }
        Judgement::Pass(seen)
    }
}

impl ObservedTraffic {
    /// The window each look sums requests over.
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// What one look reads: both load balancers' request counts.
    pub fn request(&self) -> WatchRequest {
        WatchRequest {
            alarms: vec![],
            queries: vec![
                lb_query("RequestCount", &self.blue_load_balancer_arn, Self::WINDOW),
                lb_query("RequestCount", &self.green_load_balancer_arn, Self::WINDOW),
            ],
            history_since: None,
        }
    }

    /// Green's share in percent, and a sentence of what was seen; `None`
    /// when neither load balancer had a request.
    pub fn share(&self, a: &WatchAnswer) -> (Option<f64>, String) {
        let blue = a.value(&lb_query("RequestCount", &self.blue_load_balancer_arn, Self::WINDOW)).unwrap_or(0.0);
        let green = a.value(&lb_query("RequestCount", &self.green_load_balancer_arn, Self::WINDOW)).unwrap_or(0.0);
        let seen = format!(
            "{} request(s) at green's load balancer {}, {} at blue's {} in the last minute",
            count(green),
            lb_short(&self.green_load_balancer_arn),
            count(blue),
            lb_short(&self.blue_load_balancer_arn)
        );
        if blue + green <= 0.0 {
            return (None, seen);
        }
        (Some(100.0 * green / (blue + green)), seen)
    }
}

/// The alarm part of a gate: a failure sentence for the first alarm that
/// blocks, else what was seen.
pub fn judge_alarms(names: &[String], mode: InsufficientData, a: &WatchAnswer) -> Result<String, (bool, String)> {
    let missing: Vec<String> = names.iter().filter(|n| a.alarms.get(*n).is_none_or(Option::is_none)).map(|n| format!("{n:?}")).collect();
    if !missing.is_empty() {
        return Err((true, format!("no alarm named {} in this account and region", missing.join(", "))));
    }
    let mut states = Vec::new();
    for n in names {
        let Some(Some(s)) = a.alarms.get(n) else { continue };
        let blocks = match s.state {
            AlarmStateValue::Alarm => true,
            AlarmStateValue::InsufficientData => mode == InsufficientData::Fail,
            AlarmStateValue::Ok => false,
        };
        if blocks {
            let why = if s.state == AlarmStateValue::InsufficientData { " (no data counts as a failure here)" } else { "" };
            let reason = if s.reason.is_empty() { String::new() } else { format!(": {}", s.reason) };
            return Err((false, format!("alarm {n:?} is {}{why}{reason}", s.state.as_str())));
        }
        states.push(format!("{n} {}", s.state.as_str()));
    }
    Ok(format!("alarms: {}", states.join(", ")))
}

/// Whether an alarm in `state` blocks an increase.
fn blocks(state: AlarmStateValue, mode: InsufficientData) -> bool {
    match state {
        AlarmStateValue::Alarm => true,
        AlarmStateValue::InsufficientData => mode == InsufficientData::Fail,
        AlarmStateValue::Ok => false,
    }
}

/// The alarm part of a gate over the time since `span` began: the first
/// moment, in `history` (state changes at or after the start, oldest first),
/// an alarm of `names` entered or left a state that blocks. `now` holds each
/// alarm's current state, to say how it is now.
pub fn judge_alarm_history(
    names: &[String],
    mode: InsufficientData,
    history: &[AlarmTransition],
    now: &WatchAnswer,
    span: &str,
) -> Result<String, String> {
    let first = history.iter().filter(|t| names.contains(&t.name)).find(|t| blocks(t.new, mode) || blocks(t.old, mode));
    let Some(t) = first else {
        return Ok(format!("no alarm in ALARM {span}"));
    };
    let when = crate::clock::format(t.at);
    let (what, shown) = if blocks(t.new, mode) {
        (format!("went to {} at {when}", t.new.as_str()), t.new)
    } else {
        (format!("was {} until {when}", t.old.as_str()), t.old)
    };
    let why = if shown == AlarmStateValue::InsufficientData { " (no data counts as a failure here)" } else { "" };
    let state_now =
        now.alarms.get(&t.name).and_then(Option::as_ref).map(|s| format!("; it is {} now", s.state.as_str())).unwrap_or_default();
    let more = history.iter().filter(|u| u.name == t.name && (blocks(u.new, mode) || blocks(u.old, mode))).count();
    let more = if more > 1 { format!(" ({more} such state changes)") } else { String::new() };
    Err(format!("alarm {:?} {what}{why}, {span}{more}{state_now}", t.name))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::aws::watch::CloudWatchReader;
    use crate::gate::{AwsGateProbe, CheckPoint, GateKind, HealthGate, SetupProblem};
    use crate::testing::{FakeCloudWatch, FakeElbv2};

    pub(crate) const GREEN_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ecs/1111";
    pub(crate) const BLUE_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ec2/2222";
    pub(crate) const GREEN_LB: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/new/aaaa";
    pub(crate) const BLUE_LB: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/old/bbbb";
    const W: Duration = Duration::from_secs(300);

    pub(crate) struct World {
        pub cw: Arc<FakeCloudWatch>,
        pub elb: Arc<FakeElbv2>,
        pub reader: CloudWatchReader,
    }

    impl World {
        pub fn new() -> World {
            let cw = Arc::new(FakeCloudWatch::default());
            let elb = Arc::new(FakeElbv2::default());
            elb.add_target_group(GREEN_TG, &[GREEN_LB]);
            elb.add_target_group(BLUE_TG, &[BLUE_LB]);
            let reader = CloudWatchReader::new(cw.clone());
            World { cw, elb, reader }
        }
        pub fn probe(&self) -> AwsGateProbe {
            AwsGateProbe::with(self.elb.clone(), self.reader.clone())
        }
        /// Puts `requests` and `errors` (target 5xx) for a target group behind a load balancer.
        pub fn traffic(&self, tg: &str, lb: &str, requests: f64, errors: f64) {
            self.cw.set_value(&tg_query("RequestCount", "Sum", tg, lb, W), requests);
            self.cw.set_value(&tg_query("HTTPCode_Target_5XX_Count", "Sum", tg, lb, W), errors);
        }
        pub fn latency(&self, tg: &str, lb: &str, stat: &str, seconds: f64) {
            self.cw.set_value(&tg_query("TargetResponseTime", stat, tg, lb, W), seconds);
        }
    }

    pub(crate) fn error_rate(over_blue: Option<f64>) -> ErrorRateGate {
        ErrorRateGate {
            green_target_group_arn: GREEN_TG.into(),
            blue_target_group_arn: Some(BLUE_TG.into()),
            window: W,
            min_requests: 100,
            max_percent: 1.0,
            max_percent_over_blue: over_blue,
            own_load_balancer: false,
        }
    }

    fn latency(stat: &str, over_blue: Option<Duration>) -> LatencyGate {
        LatencyGate {
            green_target_group_arn: GREEN_TG.into(),
            blue_target_group_arn: Some(BLUE_TG.into()),
            window: W,
            min_requests: 100,
            statistic: stat.into(),
            max: Duration::from_millis(800),
            max_over_blue: over_blue,
        }
    }

    fn gate_with(f: impl FnOnce(&mut HealthGate)) -> HealthGate {
        let mut g = HealthGate::default();
        f(&mut g);
        g
    }

    #[test]
    fn dimension_values_are_the_arn_resource_parts() {
        assert_eq!(target_group_dimension(GREEN_TG), "targetgroup/ecs/1111");
        assert_eq!(load_balancer_dimension(GREEN_LB), "app/new/aaaa");
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_in_alarm_fails_naming_it_and_its_reason() {
        let w = World::new();
        w.cw.set_alarm("api-green-5xx", AlarmStateValue::Alarm, "Threshold Crossed: 1 datapoint [12.0] was greater than 5.0");
        w.cw.set_alarm("api-green-unhealthy", AlarmStateValue::Ok, "");
        let g = gate_with(|g| g.alarms = vec!["api-green-unhealthy".into(), "api-green-5xx".into()]);
        let f = g.evaluate(&w.probe()).await.unwrap_err();
        assert_eq!(f.gate, GateKind::CloudWatchAlarms);
        assert_eq!(f.observation, "alarm \"api-green-5xx\" is ALARM: Threshold Crossed: 1 datapoint [12.0] was greater than 5.0");
        w.cw.set_alarm("api-green-5xx", AlarmStateValue::Ok, "");
        tokio::time::sleep(Duration::from_secs(30)).await;
        let seen = g.evaluate(&w.probe()).await.unwrap();
        assert_eq!(seen, ["alarms: api-green-unhealthy OK, api-green-5xx OK"]);
    }

    #[tokio::test(start_paused = true)]
    async fn insufficient_data_passes_or_fails_as_configured() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::InsufficientData, "Insufficient Data: 1 datapoint was unknown.");
        let mut g = gate_with(|g| g.alarms = vec!["a".into()]);
        assert!(g.evaluate(&w.probe()).await.is_ok());
        g.insufficient_data = InsufficientData::Fail;
        let f = g.evaluate(&w.probe()).await.unwrap_err();
        assert!(f.observation.starts_with("alarm \"a\" is INSUFFICIENT_DATA (no data counts as a failure here)"), "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn setup_lists_every_missing_alarm_and_target_group_without_load_balancer() {
        let w = World::new();
        w.cw.set_alarm("present", AlarmStateValue::Ok, "");
        w.elb.add_target_group(GREEN_TG, &[]);
        let g = gate_with(|g| {
            g.alarms = vec!["present".into(), "gone-1".into(), "gone-2".into()];
            g.error_rate = Some(error_rate(None));
        });
        let problems = g.check_setup(&w.probe()).await.unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(matches!(&problems[0], SetupProblem::TargetGroup { gate: GateKind::ErrorRate(MetricPart::GreenTargetGroup), .. }));
        assert_eq!(
            problems[0].to_string(),
            "target group ecs serves no load balancer, so CloudWatch publishes no request metrics for it; attach it to a listener first"
        );
        assert_eq!(problems[1], SetupProblem::MissingAlarms(vec!["gone-1".into(), "gone-2".into()]));
        assert_eq!(problems[1].to_string(), "no alarm named \"gone-1\", \"gone-2\" in this account and region");
        // Evaluated anyway (an apply without a plan-time check): the gate fails before any traffic moves.
        let f = g.evaluate(&w.probe()).await.unwrap_err();
        assert_eq!(f.gate, GateKind::ErrorRate(MetricPart::GreenTargetGroup));
    }

    #[tokio::test(start_paused = true)]
    async fn error_rate_over_max_percent_fails() {
        let w = World::new();
        w.traffic(GREEN_TG, GREEN_LB, 1000.0, 32.0);
        let g = gate_with(|g| g.error_rate = Some(error_rate(None)));
        let f = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert_eq!(f.gate, GateKind::ErrorRate(MetricPart::Max));
        assert_eq!(f.observation, "green's 5xx rate is 3.2 % (32 of 1000 requests in the last 5m); max_percent = 1");
        w.traffic(GREEN_TG, GREEN_LB, 1000.0, 10.0);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.is_ok(), "exactly 1 % is within max_percent = 1");
    }

    #[tokio::test(start_paused = true)]
    async fn error_rate_against_blue_fails_when_green_is_worse_by_more_than_allowed() {
        let w = World::new();
        w.traffic(GREEN_TG, GREEN_LB, 1000.0, 8.0); // 0.8 %: under max_percent
        w.traffic(BLUE_TG, BLUE_LB, 5000.0, 10.0); // 0.2 %
        let g = gate_with(|g| g.error_rate = Some(error_rate(Some(0.5))));
        let f = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert_eq!(f.gate, GateKind::ErrorRate(MetricPart::OverBlue));
        assert_eq!(
            f.observation,
            "green's 5xx rate is 0.8 % (8 of 1000 requests in the last 5m), blue's 0.2 % (10 of 5000): 0.6 points above blue; max_percent_over_blue = 0.5"
        );
        w.traffic(BLUE_TG, BLUE_LB, 5000.0, 20.0); // 0.4 %
        tokio::time::sleep(Duration::from_secs(30)).await;
        let seen = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap();
        assert_eq!(seen, ["green's 5xx rate is 0.8 % (8 of 1000 requests in the last 5m), blue's 0.4 %"]);
    }

    #[tokio::test(start_paused = true)]
    async fn too_few_requests_are_not_judged_until_the_end_of_the_bake() {
        let w = World::new();
        w.traffic(GREEN_TG, GREEN_LB, 12.0, 12.0);
        let g = gate_with(|g| g.error_rate = Some(error_rate(None)));
        for at in [CheckPoint::BeforeFirstIncrease, CheckPoint::DuringBake] {
            let seen = g.evaluate_at(&w.probe(), at).await.unwrap();
            assert_eq!(seen, ["error_rate not judged yet: green received 12 request(s) in the last 5m, fewer than min_requests = 100"]);
        }
        let f = g.evaluate_at(&w.probe(), CheckPoint::EndOfBake).await.unwrap_err();
        assert_eq!(f.gate, GateKind::ErrorRate(MetricPart::MinRequests));
        assert!(f.observation.starts_with("not judged by the end of the bake: green received 12 request(s)"), "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_group_behind_two_load_balancers_is_summed() {
        let w = World::new();
        w.elb.add_target_group(GREEN_TG, &[GREEN_LB, BLUE_LB]);
        w.traffic(GREEN_TG, GREEN_LB, 500.0, 0.0);
        w.traffic(GREEN_TG, BLUE_LB, 500.0, 20.0);
        let g = gate_with(|g| g.error_rate = Some(ErrorRateGate { blue_target_group_arn: None, ..error_rate(None) }));
        let f = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert_eq!(f.observation, "green's 5xx rate is 2 % (20 of 1000 requests in the last 5m); max_percent = 1");
    }

    #[tokio::test(start_paused = true)]
    async fn a_load_balancer_listed_twice_is_read_once() {
        let w = World::new();
        // moto lists a load balancer once per listener rule forwarding to the group.
        w.elb.add_target_group(BLUE_TG, &[BLUE_LB, BLUE_LB]);
        w.traffic(GREEN_TG, GREEN_LB, 1000.0, 8.0);
        w.traffic(BLUE_TG, BLUE_LB, 5000.0, 10.0);
        let g = gate_with(|g| g.error_rate = Some(error_rate(Some(0.5))));
        let f = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert!(f.observation.contains("blue's 0.2 % (10 of 5000)"), "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn load_balancer_5xx_count_only_when_green_has_its_own() {
        let w = World::new();
        w.traffic(GREEN_TG, GREEN_LB, 990.0, 0.0);
        w.cw.set_value(&lb_query("HTTPCode_ELB_5XX_Count", GREEN_LB, W), 10.0);
        let shared = gate_with(|g| g.error_rate = Some(ErrorRateGate { blue_target_group_arn: None, ..error_rate(None) }));
        assert!(shared.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.is_ok(), "a canary: the ALB's own 5xx are not green's");
        let own = gate_with(|g| {
            g.error_rate =
                Some(ErrorRateGate { blue_target_group_arn: None, max_percent: 0.5, own_load_balancer: true, ..error_rate(None) })
        });
        let f = own.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert_eq!(f.observation, "green's 5xx rate is 1 % (10 of 1000 requests in the last 5m); max_percent = 0.5");
        // Both target groups behind one load balancer: its own 5xx belong to neither side.
        w.elb.add_target_group(BLUE_TG, &[GREEN_LB]);
        let both = gate_with(|g| {
            g.error_rate = Some(ErrorRateGate { max_percent: 0.5, own_load_balancer: true, ..error_rate(Some(5.0)) });
        });
        w.traffic(BLUE_TG, GREEN_LB, 1000.0, 0.0);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(both.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn latency_percentile_over_max_fails_and_baseline_compares() {
        let w = World::new();
        w.traffic(GREEN_TG, GREEN_LB, 1000.0, 0.0);
        w.traffic(BLUE_TG, BLUE_LB, 1000.0, 0.0);
        w.latency(GREEN_TG, GREEN_LB, "p99", 1.2);
        let g = gate_with(|g| g.latency = Some(latency("p99", None)));
        let f = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert_eq!(f.gate, GateKind::Latency(MetricPart::Max));
        assert_eq!(f.observation, "green's p99 response time is 1200 ms over the last 5m; max = 800ms");

        w.latency(GREEN_TG, GREEN_LB, "p99", 0.5);
        w.latency(BLUE_TG, BLUE_LB, "p99", 0.25);
        let g = gate_with(|g| g.latency = Some(latency("p99", Some(Duration::from_millis(200)))));
        tokio::time::sleep(Duration::from_secs(30)).await;
        let f = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap_err();
        assert_eq!(f.gate, GateKind::Latency(MetricPart::OverBlue));
        assert_eq!(
            f.observation,
            "green's p99 response time is 500 ms over the last 5m, blue's 250 ms: 250 ms slower than blue; max_over_blue = 200ms"
        );
        w.latency(BLUE_TG, BLUE_LB, "p99", 0.4);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn average_latency_is_weighted_by_each_load_balancers_requests() {
        let w = World::new();
        w.elb.add_target_group(GREEN_TG, &[GREEN_LB, BLUE_LB]);
        w.traffic(GREEN_TG, GREEN_LB, 900.0, 0.0);
        w.traffic(GREEN_TG, BLUE_LB, 100.0, 0.0);
        w.latency(GREEN_TG, GREEN_LB, "Average", 0.5);
        w.latency(GREEN_TG, BLUE_LB, "Average", 2.3);
        let g = gate_with(|g| g.latency = Some(LatencyGate { blue_target_group_arn: None, ..latency("Average", None) }));
        let seen = g.evaluate_at(&w.probe(), CheckPoint::DuringBake).await.unwrap();
        // (900 · 0.5 + 100 · 2.3) / 1000 = 0.68 s
        assert_eq!(seen, ["green's Average response time is 680 ms over the last 5m"]);
    }

    #[test]
    fn observed_share() {
        let o = ObservedTraffic {
            blue_load_balancer_arn: BLUE_LB.into(),
            green_load_balancer_arn: GREEN_LB.into(),
            tolerance: 10,
            timeout: Duration::from_secs(900),
            interval: Duration::from_secs(30),
        };
        let mut a = WatchAnswer::default();
        assert_eq!(o.share(&a).0, None);
        a.values.insert(lb_query("RequestCount", BLUE_LB, ObservedTraffic::WINDOW), Some(980.0));
        a.values.insert(lb_query("RequestCount", GREEN_LB, ObservedTraffic::WINDOW), Some(20.0));
        let (share, seen) = o.share(&a);
        assert_eq!(share, Some(2.0));
        assert_eq!(seen, "20 request(s) at green's load balancer new, 980 at blue's old in the last minute");
    }
}
