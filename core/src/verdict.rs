//! What a gate decided, as plain values: which check ([`GateKind`], and for
//! metric gates which part, [`MetricPart`]) and what was seen
//! ([`GateFailure`]). A leaf: the error type and the gates both name these,
//! and neither needs the other for it.

/// A part of a metric gate ([`crate::metric_gate::ErrorRateGate`] or [`crate::metric_gate::LatencyGate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricPart {
    /// The gate as a whole (its metrics could not be read).
    Whole,
    /// Too few requests to judge by the end of a bake.
    MinRequests,
    /// Over the absolute limit.
    Max,
    /// Worse than blue by more than allowed.
    OverBlue,
    /// Green's target group.
    GreenTargetGroup,
    /// Blue's target group.
    BlueTargetGroup,
}

/// Which check of a [`crate::gate::HealthGate`] (or of the rollout) a failure or a setup
/// problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    /// The target groups' health could not be read.
    TargetGroups,
    /// A target group has fewer healthy targets than required.
    MinHealthyTargets,
    /// The HTTP check.
    HttpCheck,
    /// The CloudWatch alarms.
    CloudWatchAlarms,
    /// The CloudWatch alarms' history since the split in effect was reached: one was in ALARM at some moment.
    AlarmHistory,
    /// Green's error rate.
    ErrorRate(MetricPart),
    /// Green's latency.
    Latency(MetricPart),
    /// Clients did not follow a DNS step in time.
    ObservedTraffic,
}

impl std::fmt::Display for GateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |p: &MetricPart| match p {
            MetricPart::Whole => "",
            MetricPart::MinRequests => " (too few requests)",
            MetricPart::Max => " (over the limit)",
            MetricPart::OverBlue => " (worse than blue)",
            MetricPart::GreenTargetGroup => " (green's target group)",
            MetricPart::BlueTargetGroup => " (blue's target group)",
        };
        match self {
            GateKind::TargetGroups => f.write_str("target health"),
            GateKind::MinHealthyTargets => f.write_str("healthy targets"),
            GateKind::HttpCheck => f.write_str("HTTP check"),
            GateKind::CloudWatchAlarms => f.write_str("CloudWatch alarms"),
            GateKind::AlarmHistory => f.write_str("CloudWatch alarm history"),
            GateKind::ErrorRate(p) => write!(f, "error rate{}", part(p)),
            GateKind::Latency(p) => write!(f, "latency{}", part(p)),
            GateKind::ObservedTraffic => f.write_str("observed traffic"),
        }
    }
}

/// Which gate failed and what was seen, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFailure {
    /// The check that failed.
    pub gate: GateKind,
    /// What was seen, in words, e.g. how many targets were healthy.
    pub observation: String,
    /// The step (green percent) in effect when a check during a bake failed;
    /// `None` before any change, or when the observation names the step.
    pub at_step: Option<u8>,
}

impl GateFailure {
    /// A failure of `gate` with what was seen.
    pub fn new(gate: GateKind, observation: impl Into<String>) -> Self {
        GateFailure { gate, observation: observation.into(), at_step: None }
    }

    /// " (at step N %)" when the failure happened at a step, else empty.
    pub fn step_suffix(&self) -> String {
        self.at_step.map(|s| format!(" (at step {s} %)")).unwrap_or_default()
    }
}

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}{}", self.gate, self.observation, self.step_suffix())
    }
}
