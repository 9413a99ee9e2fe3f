//! The cutover engine: walks one apply's path from the current split to the
//! target through a [`TrafficRouter`] — Route 53 records or an ALB rule,
//! the engine does not care — baking after each step while health gates
//! are re-checked, and rolling back or halting when a gate fails.
//!
//! Time is tokio time, so tests run bake times in virtual time
//! (`start_paused`), and every wait also ends when Terraform sends
//! StopProvider.

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::gate::{GateFailure, GateProbe, HealthGate};
use crate::rollout::{plan_path, Rollout};
use crate::traffic::TrafficSplit;

/// Something that splits traffic between blue and green.
#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// The split in effect now, as AWS reports it.
    async fn observe(&self) -> Result<TrafficSplit>;

    /// Puts `split` in place and waits until AWS reports it in effect.
    /// When `stop` fires during the wait it returns [`Error::Cancelled`]; the
    /// change itself has been submitted and will take effect.
    async fn apply(&self, split: TrafficSplit, stop: &CancellationToken) -> Result<()>;
}

/// What to do when a gate fails during an increase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnGateFailure {
    /// Return to the split in effect before this apply.
    #[default]
    Rollback,
    /// Return to the last step whose gate passed, and stop there.
    Halt,
}

#[derive(Debug, Clone)]
pub struct ShiftPlan {
    pub from: TrafficSplit,
    pub to: TrafficSplit,
    pub rollout: Option<Rollout>,
    pub gate: Option<HealthGate>,
    pub on_gate_failure: OnGateFailure,
    /// The caller already checked the gate just before (a create checks it
    /// before making anything); skip the check before the first increase.
    pub gate_already_passed: bool,
}

/// How gates are re-checked while baking.
pub const GATE_RECHECK_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum ShiftOutcome {
    /// The target is in effect.
    Reached,
    /// A gate failed before the first increase: nothing changed.
    GateBlocked(GateFailure),
    /// A gate failed; traffic went back to where the apply started.
    RolledBack(GateFailure),
    /// A gate failed; traffic went back to the last step that passed.
    Halted(GateFailure),
    /// Terraform asked us to stop; traffic stays at the step reached.
    Stopped,
    /// An AWS call failed; `at` is what was read back afterwards.
    Failed(Error),
}

/// The result of one shift: what happened and the split in effect at the end.
#[derive(Debug)]
pub struct ShiftReport {
    pub outcome: ShiftOutcome,
    pub at: TrafficSplit,
}

impl ShiftReport {
    pub fn reached(&self) -> bool {
        matches!(self.outcome, ShiftOutcome::Reached)
    }
}

/// Waits `d`, unless stopped first. Returns false when stopped.
async fn wait(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stop.cancelled() => false,
    }
}

/// Bakes at the current step for `bake`, re-checking the gate every
/// [`GATE_RECHECK_INTERVAL`] and at the end.
async fn bake(bake: Duration, gate: Option<&HealthGate>, probe: &dyn GateProbe, stop: &CancellationToken) -> Result<(), BakeEnd> {
    let start = tokio::time::Instant::now();
    loop {
        let elapsed = start.elapsed();
        let remaining = bake.saturating_sub(elapsed);
        if !remaining.is_zero() && !wait(remaining.min(GATE_RECHECK_INTERVAL), stop).await {
            return Err(BakeEnd::Stopped);
        }
        if let Some(g) = gate {
            g.evaluate(probe).await.map_err(BakeEnd::Gate)?;
        }
        if start.elapsed() >= bake {
            return Ok(());
        }
    }
}

enum BakeEnd {
    Stopped,
    Gate(GateFailure),
}

/// Runs one shift. Decreasing green traffic (a rollback) is never gated.
pub async fn shift(router: &dyn TrafficRouter, probe: &dyn GateProbe, plan: &ShiftPlan, stop: &CancellationToken) -> ShiftReport {
    let path = plan_path(plan.from, plan.to, plan.rollout.as_ref());
    let increasing = plan.to > plan.from;
    let gate = plan.gate.as_ref().filter(|_| increasing);
    let bake_time = plan.rollout.as_ref().map_or(Duration::ZERO, |r| r.bake);
    let total = path.len();
    let mut at = plan.from;
    let mut last_good = plan.from;

    if path.is_empty() {
        return ShiftReport { outcome: ShiftOutcome::Reached, at };
    }
    tracing::info!(from = plan.from.green(), to = plan.to.green(), steps = total, "starting traffic shift: {} -> {}", plan.from, plan.to);

    if let Some(g) = gate.filter(|_| !plan.gate_already_passed) {
        match g.evaluate(probe).await {
            Ok(seen) => tracing::info!(observed = %seen.join("; "), "health gate passed before the first increase"),
            Err(f) => {
                tracing::warn!(gate = %f.gate, observation = %f.observation, "health gate failed before any change");
                return ShiftReport { outcome: ShiftOutcome::GateBlocked(f), at };
            }
        }
    }

    for (i, step) in path.iter().enumerate() {
        if stop.is_cancelled() {
            return ShiftReport { outcome: ShiftOutcome::Stopped, at };
        }
        let started = tokio::time::Instant::now();
        match router.apply(step.split, stop).await {
            Ok(()) => at = step.split,
            Err(Error::Cancelled(_)) => {
                // Submitted, not yet confirmed: it will take effect.
                return ShiftReport { outcome: ShiftOutcome::Stopped, at: step.split };
            }
            Err(e) => {
                let observed = router.observe().await.unwrap_or(at);
                tracing::warn!(error = %e, observed = observed.green(), "traffic change failed");
                return ShiftReport { outcome: ShiftOutcome::Failed(e), at: observed };
            }
        }
        tracing::info!(
            step = i + 1,
            of = total,
            green = step.split.green(),
            blue = step.split.blue(),
            took_ms = started.elapsed().as_millis() as u64,
            "step {}/{}: {} in effect{}",
            i + 1,
            total,
            step.split,
            if step.bake && !bake_time.is_zero() { format!(", baking {}", crate::duration::format(bake_time)) } else { String::new() }
        );
        if !step.bake {
            continue;
        }
        match bake(bake_time, gate, probe, stop).await {
            Ok(()) => last_good = step.split,
            Err(BakeEnd::Stopped) => {
                tracing::info!(green = at.green(), "stopped during the bake; traffic stays at this step");
                return ShiftReport { outcome: ShiftOutcome::Stopped, at };
            }
            Err(BakeEnd::Gate(f)) => return react_to_gate(router, plan, f, at, last_good).await,
        }
    }
    ShiftReport { outcome: ShiftOutcome::Reached, at }
}

async fn react_to_gate(
    router: &dyn TrafficRouter,
    plan: &ShiftPlan,
    failure: GateFailure,
    at: TrafficSplit,
    last_good: TrafficSplit,
) -> ShiftReport {
    let (back_to, halted) = match plan.on_gate_failure {
        OnGateFailure::Rollback => (plan.from, false),
        OnGateFailure::Halt => (last_good, true),
    };
    tracing::warn!(gate = %failure.gate, observation = %failure.observation, back_to = back_to.green(), "health gate failed at {at}; returning to {back_to}");
    // The way back is never gated, and it must finish even after a Ctrl-C:
    // a fresh token, so the rollback is waited for.
    // (Retry waits for throttling too: see aws::retry::unstoppable.)
    let unstoppable = CancellationToken::new();
    match crate::aws::retry::unstoppable(router.apply(back_to, &unstoppable)).await {
        Ok(()) => {
            ShiftReport { outcome: if halted { ShiftOutcome::Halted(failure) } else { ShiftOutcome::RolledBack(failure) }, at: back_to }
        }
        Err(e) => {
            let observed = router.observe().await.unwrap_or(at);
            ShiftReport {
                outcome: ShiftOutcome::Failed(Error::Unfinished {
                    summary: "Health gate failed, and the way back could not be written",
                    detail: format!(
                        "{failure}; returning to {back_to} then failed: {}.\n\nApply traffic = {} as soon as AWS accepts \
                         changes again: a decrease is never gated.",
                        e.to_string().trim_end_matches('.'),
                        back_to.green()
                    ),
                }),
                at: observed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::HttpCheck;
    use crate::legacy::HealthCounts;
    use std::sync::Mutex;
    use tokio::time::Instant;

    /// Records every split put in place, with the virtual time it happened.
    #[derive(Default)]
    struct FakeRouter {
        current: Mutex<u8>,
        log: Mutex<Vec<(u8, Duration)>>,
        fail_at: Option<u8>,
        start: Mutex<Option<Instant>>,
        insync: Duration,
    }

    impl FakeRouter {
        fn at(p: u8) -> Self {
            FakeRouter { current: Mutex::new(p), start: Mutex::new(Some(Instant::now())), ..Default::default() }
        }
        fn applied(&self) -> Vec<u8> {
            self.log.lock().unwrap().iter().map(|(p, _)| *p).collect()
        }
        fn times(&self) -> Vec<Duration> {
            self.log.lock().unwrap().iter().map(|(_, t)| *t).collect()
        }
    }

    #[async_trait]
    impl TrafficRouter for FakeRouter {
        async fn observe(&self) -> Result<TrafficSplit> {
            Ok(TrafficSplit::green_percent(*self.current.lock().unwrap()).unwrap())
        }
        async fn apply(&self, split: TrafficSplit, stop: &CancellationToken) -> Result<()> {
            if self.fail_at == Some(split.green()) {
                return Err(Error::Aws(crate::AwsError::new("ChangeResourceRecordSets", crate::AwsErrorKind::Throttling, "Rate exceeded")));
            }
            *self.current.lock().unwrap() = split.green();
            let t = self.start.lock().unwrap().unwrap().elapsed();
            self.log.lock().unwrap().push((split.green(), t));
            if !wait(self.insync, stop).await {
                return Err(Error::Cancelled("waiting for INSYNC".into()));
            }
            Ok(())
        }
    }

    /// A probe whose health answers follow a script over (virtual) time.
    struct ScriptedProbe {
        start: Instant,
        /// Healthy count as a function of elapsed time.
        healthy: Box<dyn Fn(Duration) -> u32 + Send + Sync>,
        calls: Mutex<u32>,
    }

    impl ScriptedProbe {
        fn new(f: impl Fn(Duration) -> u32 + Send + Sync + 'static) -> Self {
            ScriptedProbe { start: Instant::now(), healthy: Box::new(f), calls: Mutex::new(0) }
        }
    }

    #[async_trait]
    impl GateProbe for ScriptedProbe {
        async fn target_health(&self, _arn: &str) -> Result<HealthCounts, String> {
            *self.calls.lock().unwrap() += 1;
            let n = (self.healthy)(self.start.elapsed());
            Ok(HealthCounts::from_states(std::iter::repeat_n("healthy", n as usize)))
        }
        async fn http_status(&self, _c: &HttpCheck) -> Result<u16, String> {
            Ok(200)
        }
    }

    fn t(p: u8) -> TrafficSplit {
        TrafficSplit::green_percent(p).unwrap()
    }

    fn plan(from: u8, to: u8, steps: &[u8], bake_secs: u64, gated: bool, on: OnGateFailure) -> ShiftPlan {
        ShiftPlan {
            from: t(from),
            to: t(to),
            rollout: Some(Rollout { steps: steps.to_vec(), bake: Duration::from_secs(bake_secs) }),
            gate: gated.then(|| HealthGate { target_group_arns: vec!["arn:tg".into()], min_healthy_targets: 1, http_check: None }),
            on_gate_failure: on,
            gate_already_passed: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn walks_steps_and_bakes_in_virtual_time() {
        let r = FakeRouter::at(0);
        let p = ScriptedProbe::new(|_| 2);
        let report = shift(&r, &p, &plan(0, 100, &[10, 50], 300, true, OnGateFailure::Rollback), &CancellationToken::new()).await;
        assert!(report.reached(), "{report:?}");
        assert_eq!(report.at, t(100));
        assert_eq!(r.applied(), [10, 50, 100]);
        assert_eq!(r.times(), [Duration::ZERO, Duration::from_secs(300), Duration::from_secs(600)]);
        // 1 before the first increase + 10 checks per 300 s bake (every 30 s), twice.
        assert_eq!(*p.calls.lock().unwrap(), 1 + 10 + 10);
    }

    #[tokio::test(start_paused = true)]
    async fn gate_failure_during_bake_rolls_back_to_the_start() {
        let r = FakeRouter::at(0);
        // Green loses its targets 7 minutes in: during the second bake.
        let p = ScriptedProbe::new(|t| if t < Duration::from_secs(420) { 2 } else { 0 });
        let report = shift(&r, &p, &plan(0, 100, &[10, 50], 300, true, OnGateFailure::Rollback), &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => assert_eq!(f.gate, "health_gate.min_healthy_targets"),
            other => panic!("{other:?}"),
        }
        assert_eq!(report.at, t(0));
        assert_eq!(r.applied(), [10, 50, 0]);
        assert_eq!(r.times()[2], Duration::from_secs(420), "rolled back at the first failed re-check");
    }

    #[tokio::test(start_paused = true)]
    async fn halt_returns_to_the_last_good_step() {
        let r = FakeRouter::at(0);
        let p = ScriptedProbe::new(|t| if t < Duration::from_secs(420) { 2 } else { 0 });
        let report = shift(&r, &p, &plan(0, 100, &[10, 50], 300, true, OnGateFailure::Halt), &CancellationToken::new()).await;
        assert!(matches!(report.outcome, ShiftOutcome::Halted(_)), "{report:?}");
        assert_eq!(report.at, t(10));
        assert_eq!(r.applied(), [10, 50, 10]);
    }

    #[tokio::test(start_paused = true)]
    async fn gate_failure_before_any_increase_changes_nothing() {
        let r = FakeRouter::at(20);
        let p = ScriptedProbe::new(|_| 0);
        let report = shift(&r, &p, &plan(20, 100, &[50], 60, true, OnGateFailure::Rollback), &CancellationToken::new()).await;
        assert!(matches!(report.outcome, ShiftOutcome::GateBlocked(_)), "{report:?}");
        assert_eq!(report.at, t(20));
        assert!(r.applied().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn rollback_is_never_gated() {
        let r = FakeRouter::at(100);
        let p = ScriptedProbe::new(|_| 0);
        let report = shift(&r, &p, &plan(100, 0, &[10, 50], 300, true, OnGateFailure::Rollback), &CancellationToken::new()).await;
        assert!(report.reached());
        assert_eq!(r.applied(), [0], "straight back, no steps, no bake");
        assert_eq!(*p.calls.lock().unwrap(), 0, "no gate consulted");
    }

    #[tokio::test(start_paused = true)]
    async fn stop_during_a_bake_stays_at_the_current_step() {
        let r = FakeRouter::at(0);
        let p = ScriptedProbe::new(|_| 2);
        let stop = CancellationToken::new();
        let s2 = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(400)).await;
            s2.cancel();
        });
        let report = shift(&r, &p, &plan(0, 100, &[10, 50], 300, true, OnGateFailure::Rollback), &stop).await;
        assert!(matches!(report.outcome, ShiftOutcome::Stopped), "{report:?}");
        assert_eq!(report.at, t(50));
        assert_eq!(r.applied(), [10, 50]);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_while_waiting_for_sync_reports_the_submitted_step() {
        let r = FakeRouter { insync: Duration::from_secs(60), ..FakeRouter::at(0) };
        let p = ScriptedProbe::new(|_| 2);
        let stop = CancellationToken::new();
        let s2 = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            s2.cancel();
        });
        let report = shift(&r, &p, &plan(0, 100, &[10], 300, false, OnGateFailure::Rollback), &stop).await;
        assert!(matches!(report.outcome, ShiftOutcome::Stopped));
        assert_eq!(report.at, t(10));
    }

    #[tokio::test(start_paused = true)]
    async fn aws_failure_reports_what_was_read_back() {
        let r = FakeRouter { fail_at: Some(50), ..FakeRouter::at(0) };
        let p = ScriptedProbe::new(|_| 2);
        let report = shift(&r, &p, &plan(0, 100, &[10, 50], 60, false, OnGateFailure::Rollback), &CancellationToken::new()).await;
        assert!(matches!(report.outcome, ShiftOutcome::Failed(_)), "{report:?}");
        assert_eq!(report.at, t(10));
    }

    #[tokio::test(start_paused = true)]
    async fn no_change_is_a_no_op() {
        let r = FakeRouter::at(40);
        let p = ScriptedProbe::new(|_| 0);
        let report = shift(&r, &p, &plan(40, 40, &[], 0, true, OnGateFailure::Rollback), &CancellationToken::new()).await;
        assert!(report.reached());
        assert!(r.applied().is_empty());
    }
}
