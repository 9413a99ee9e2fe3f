//! The cutover engine: walks one apply's path from the current split to the
//! target through a [`TrafficRouter`] — Route 53 records or an ALB rule,
//! the engine does not care — baking after each step while health gates
//! are re-checked, and rolling back or halting when a gate fails.
//!
//! Time is tokio time, so tests run bake times in virtual time
//! (`start_paused`), and every wait also ends when Terraform sends
//! StopProvider.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::gate::{AtSplit, CheckPoint, GateFailure, GateKind, GateProbe, HealthGate, DEFAULT_CHECK_INTERVAL};
use crate::metric_gate::ObservedTraffic;
use crate::rollout::{plan_path, Rollout};
use crate::traffic::TrafficSplit;

/// Something that splits traffic between blue and green.
#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// What one write did, as AWS answered it (a Route 53 change, the rules
    /// rewritten), so the caller can report it.
    type Receipt: Clone + Send + Sync + std::fmt::Debug;

    /// The split in effect now, as AWS reports it.
    async fn observe(&self) -> Result<TrafficSplit>;

    /// Puts `split` in place, without waiting for it to take effect.
    async fn submit(&self, split: TrafficSplit) -> Result<Self::Receipt>;

    /// Waits until AWS reports a submitted write in effect. When `stop` fires
    /// during the wait it returns [`Error::Cancelled`]; the change has been
    /// submitted and will take effect. Routers whose writes take effect at
    /// once have nothing to wait for.
    async fn settle(&self, _receipt: &Self::Receipt, _stop: &CancellationToken) -> Result<()> {
        Ok(())
    }
}

/// Submits `split` and waits for it, keeping the receipt of a submitted write
/// in `writes` even when the wait fails.
async fn apply<R: TrafficRouter + ?Sized>(
    router: &R,
    split: TrafficSplit,
    stop: &CancellationToken,
    writes: &mut Vec<R::Receipt>,
) -> Result<()> {
    let receipt = router.submit(split).await?;
    writes.push(receipt.clone());
    router.settle(&receipt, stop).await
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
/// One shift: from where, to where, and how.
pub struct ShiftPlan {
    /// The split in effect when the shift starts; a rollback returns here.
    pub from: TrafficSplit,
    /// The split to reach.
    pub to: TrafficSplit,
    /// Intermediate steps and their bake time; `None` goes to `to` in one write.
    pub rollout: Option<Rollout>,
    /// Checked before the first increase and during every bake; `None` moves without checks.
    pub gate: Option<HealthGate>,
    /// What a gate failure does: roll back to `from`, or halt at the last step that passed.
    pub on_gate_failure: OnGateFailure,
    /// The caller already checked the gate just before (a create checks it
    /// before making anything); skip the check before the first increase.
    pub gate_already_passed: bool,
    /// After each step of an increase, the final target too, wait until
    /// clients follow it (DNS).
    pub observed_traffic: Option<ObservedTraffic>,
    /// When the split in effect was reached, and how long this apply may wait.
    pub clock: StepClock,
}

/// The rollout's clock across applies: when the split in effect was reached
/// (a bake is measured from then, not from the start of an apply), and the
/// limits on how long one apply may wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepClock {
    /// The split last known in effect and when it was reached (the state's
    /// `shifted_at`). Used only when it is the split the shift starts from;
    /// otherwise that split counts as reached when the shift starts.
    pub reached: Option<(TrafficSplit, SystemTime)>,
    /// The longest this apply may wait (`rollout.max_wait_per_apply`); `None`: no limit.
    pub max_wait: Option<Duration>,
    /// When the credentials expire, if they cannot be renewed: no wait may
    /// end after this minus [`CREDENTIALS_MARGIN`].
    pub credentials_expire: Option<SystemTime>,
}

/// How long before credentials that cannot be renewed expire the last wait must end.
pub const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);

/// Why a rollout stopped at a step, with its bake still to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseReason {
    /// The bake would take the apply past `rollout.max_wait_per_apply`.
    MaxWaitPerApply(Duration),
    /// The bake would end after the credentials expire (less the margin).
    CredentialsExpire(SystemTime),
}

/// A rollout that stopped at a step whose gates passed, to go on in a later apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// The step traffic stays at.
    pub at: TrafficSplit,
    /// When it was reached: its bake runs from then.
    pub reached_at: SystemTime,
    /// When its bake ends: the next apply after this goes on.
    pub ready_at: SystemTime,
    /// Why this apply did not wait.
    pub reason: PauseReason,
}

#[derive(Debug)]
/// How a shift ended.
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
    /// The next bake would outlast what this apply may wait: traffic stays at
    /// a step whose gates passed, and a later apply goes on from there.
    Paused(Pause),
    /// An AWS call failed; `at` is what was read back afterwards.
    Failed(Error),
}

/// The result of one shift: what happened, the split in effect at the end,
/// and what each write did, in order.
#[derive(Debug)]
pub struct ShiftReport<R> {
    /// How it ended.
    pub outcome: ShiftOutcome,
    /// The split in effect at the end (read back after a failed write).
    pub at: TrafficSplit,
    /// What each write did (its router's receipt), in the order written; a rollback's write included.
    pub writes: Vec<R>,
    /// When `at` was reached, if this shift put it in place (else it is the
    /// split the shift started from, reached when it was).
    pub shifted_at: Option<SystemTime>,
}

impl<R> ShiftReport<R> {
    /// Whether the shift reached its target.
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

/// Bakes at the current step for `bake`, re-checking the gate at every
/// tick of its `check_interval` (on the probe's shared grid) and at the end.
/// A gate that reads CloudWatch ends the bake on a tick (at most one
/// interval after `bake`), so that the check before the next increase reads
/// values fetched then, in the round every resource checking at that tick
/// shares.
///
/// Each check judges the alarms' history since `reached` (when the step was
/// reached), so an alarm that fired and cleared between two checks fails the
/// next one; a bake that finishes a step reached before this apply (`resumed`)
/// judges the metric gates over that whole time too at its end.
async fn bake(
    bake: Duration,
    reached: SystemTime,
    resumed: bool,
    gate: Option<&HealthGate>,
    probe: &dyn GateProbe,
    stop: &CancellationToken,
) -> Result<(), BakeEnd> {
    let start = tokio::time::Instant::now();
    let interval = gate.map_or(DEFAULT_CHECK_INTERVAL, |g| g.check_interval);
    let end = match gate {
        Some(g) if g.uses_cloudwatch() => probe.bake_end(start + bake, interval),
        _ => start + bake,
    };
    loop {
        let now = tokio::time::Instant::now();
        let at_end = now >= end;
        if !at_end {
            let next = probe.next_check(interval).min(end);
            if !wait(next.saturating_duration_since(now), stop).await {
                return Err(BakeEnd::Stopped);
            }
        }
        let at_end = tokio::time::Instant::now() >= end;
        if let Some(g) = gate {
            let point = if at_end { CheckPoint::EndOfBake } else { CheckPoint::DuringBake };
            let split = AtSplit { reached, whole_metrics: resumed && at_end };
            g.evaluate_since(probe, point, Some(split)).await.map_err(BakeEnd::Gate)?;
        }
        if at_end {
            return Ok(());
        }
    }
}

/// After a DNS step is in effect, waits until green's observed share of
/// requests is within the tolerance of the step, or fails at the timeout.
async fn await_observed(o: &ObservedTraffic, step: TrafficSplit, probe: &dyn GateProbe, stop: &CancellationToken) -> Result<(), BakeEnd> {
    let deadline = tokio::time::Instant::now() + o.timeout;
    let target = f64::from(step.green());
    loop {
        let (share, seen) = match probe.cloudwatch(&o.request(), o.interval, CheckPoint::DuringBake).await {
            Ok(a) => o.share(&a),
            Err(e) => (None, format!("could not read the load balancers' RequestCount: {e}")),
        };
        if let Some(p) = share.filter(|p| (p - target).abs() <= f64::from(o.tolerance)) {
            tracing::info!(
                step = step.green(),
                observed = p.round() as u64,
                "green receives {} % of requests at step {} % ({seen})",
                p.round(),
                step.green()
            );
            return Ok(());
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let observed = share.map_or_else(|| "no requests".to_string(), |p| format!("{} %", p.round()));
            return Err(BakeEnd::Gate(GateFailure::new(
                GateKind::ObservedTraffic,
                format!(
                    "{observed} observed at step {} % after {} ({seen}); clients did not follow the weights within tolerance = {}",
                    step.green(),
                    crate::duration::format(o.timeout),
                    o.tolerance
                ),
            )));
        }
        tracing::info!(step = step.green(), "waiting for clients to follow step {} %: {seen}", step.green());
        let next = probe.next_check(o.interval).min(deadline);
        if !wait(next.saturating_duration_since(now), stop).await {
            return Err(BakeEnd::Stopped);
        }
    }
}

enum BakeEnd {
    Stopped,
    Gate(GateFailure),
}

/// Whether this apply may start a wait of `d` (`gate_tick`: how much later
/// a bake that reads CloudWatch may end, on a tick): `Err` with why not.
fn may_wait(clock: &StepClock, apply_start: tokio::time::Instant, d: Duration, gate_tick: Duration) -> Result<(), PauseReason> {
    if d.is_zero() {
        return Ok(());
    }
    let longest = d + gate_tick;
    if let Some(max) = clock.max_wait {
        if apply_start.elapsed() + longest > max {
            return Err(PauseReason::MaxWaitPerApply(max));
        }
    }
    if let Some(expiry) = clock.credentials_expire {
        if crate::clock::now() + longest + CREDENTIALS_MARGIN > expiry {
            return Err(PauseReason::CredentialsExpire(expiry));
        }
    }
    Ok(())
}

/// Runs one shift. Decreasing green traffic (a rollback) is never gated.
///
/// A bake is measured from when its step was reached: a shift that starts
/// at one of the rollout's steps (an earlier apply stopped or paused there)
/// first completes that step's bake, waiting only what is left of it.
pub async fn shift<R: TrafficRouter + ?Sized>(
    router: &R,
    probe: &dyn GateProbe,
    plan: &ShiftPlan,
    stop: &CancellationToken,
) -> ShiftReport<R::Receipt> {
    let apply_start = tokio::time::Instant::now();
    let path = plan_path(plan.from, plan.to, plan.rollout.as_ref());
    let increasing = plan.to > plan.from;
    let gate = plan.gate.as_ref().filter(|_| increasing);
    let gate_tick = gate.filter(|g| g.uses_cloudwatch()).map_or(Duration::ZERO, |g| g.check_interval);
    let bake_time = plan.rollout.as_ref().map_or(Duration::ZERO, |r| r.bake);
    let total = path.len();
    let mut at = plan.from;
    let mut last_good = plan.from;
    let mut writes = Vec::new();
    // When `at` was reached: as the caller knew it, or (unknown) now.
    // When `from` was reached, if the caller knows: the time judged before the first increase starts there.
    let known = plan.clock.reached.filter(|(split, _)| *split == plan.from).map(|(_, when)| when);
    let mut reached = known.unwrap_or_else(crate::clock::now);
    let mut shifted_at = None;

    if path.is_empty() {
        return ShiftReport { outcome: ShiftOutcome::Reached, at, writes, shifted_at };
    }
    tracing::info!(from = plan.from.green(), to = plan.to.green(), steps = total, "starting traffic shift: {} -> {}", plan.from, plan.to);

    // Starting at a step: what is left of its bake comes first.
    let starts_at_step = increasing && plan.rollout.as_ref().is_some_and(|r| r.steps.contains(&plan.from.green()));
    let remainder =
        if starts_at_step { bake_time.saturating_sub(crate::clock::since(crate::clock::now(), reached)) } else { Duration::ZERO };
    if let Err(reason) = may_wait(&plan.clock, apply_start, remainder, gate_tick) {
        let pause = Pause { at, reached_at: reached, ready_at: reached + bake_time, reason };
        tracing::info!(green = at.green(), "not waiting for the rest of the bake in this apply: {pause:?}");
        return ShiftReport { outcome: ShiftOutcome::Paused(pause), at, writes, shifted_at };
    }

    if let Some(g) = gate.filter(|_| !plan.gate_already_passed) {
        let split = known.map(|reached| AtSplit { reached, whole_metrics: true });
        match g.evaluate_since(probe, CheckPoint::BeforeFirstIncrease, split).await {
            Ok(seen) => tracing::info!(observed = %seen.join("; "), "health gate passed before the first increase"),
            Err(f) => {
                tracing::warn!(gate = %f.gate, observation = %f.observation, "health gate failed before any change");
                return ShiftReport { outcome: ShiftOutcome::GateBlocked(f), at, writes, shifted_at };
            }
        }
    }

    if !remainder.is_zero() {
        tracing::info!(
            green = at.green(),
            "step {} % was reached at {}: baking the remaining {} of {}",
            at.green(),
            crate::clock::format(reached),
            crate::duration::format(remainder),
            crate::duration::format(bake_time)
        );
        match bake(remainder, reached, true, gate, probe, stop).await {
            Ok(()) => {}
            Err(BakeEnd::Stopped) => return ShiftReport { outcome: ShiftOutcome::Stopped, at, writes, shifted_at },
            Err(BakeEnd::Gate(mut f)) => {
                // Nothing moved in this apply: the step it started at failed its bake.
                f.at_step = Some(at.green());
                tracing::warn!(gate = %f.gate, observation = %f.observation, "health gate failed while finishing the bake at {at}");
                return ShiftReport { outcome: ShiftOutcome::GateBlocked(f), at, writes, shifted_at };
            }
        }
    }

    for (i, step) in path.iter().enumerate() {
        if stop.is_cancelled() {
            return ShiftReport { outcome: ShiftOutcome::Stopped, at, writes, shifted_at };
        }
        let started = tokio::time::Instant::now();
        match apply(router, step.split, stop, &mut writes).await {
            Ok(()) => {
                at = step.split;
                reached = crate::clock::now();
                shifted_at = Some(reached);
            }
            Err(Error::Cancelled(_)) => {
                // Submitted, not yet confirmed: it will take effect.
                return ShiftReport { outcome: ShiftOutcome::Stopped, at: step.split, writes, shifted_at: Some(crate::clock::now()) };
            }
            Err(e) => {
                let observed = router.observe().await.unwrap_or(at);
                tracing::warn!(error = %e, observed = observed.green(), "traffic change failed");
                let shifted_at = if observed == at { shifted_at } else { Some(crate::clock::now()) };
                return ShiftReport { outcome: ShiftOutcome::Failed(e), at: observed, writes, shifted_at };
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
        // Every step of an increase, the final target too, counts as reached
        // once clients follow it; then the steps before the target bake.
        let observed = match plan.observed_traffic.as_ref().filter(|_| increasing) {
            Some(o) => await_observed(o, step.split, probe, stop).await,
            None => Ok(()),
        };
        if observed.is_ok() && step.bake {
            if let Err(reason) = may_wait(&plan.clock, apply_start, bake_time, gate_tick) {
                let pause = Pause { at, reached_at: reached, ready_at: reached + bake_time, reason };
                tracing::info!(green = at.green(), "not baking in this apply: {pause:?}");
                return ShiftReport { outcome: ShiftOutcome::Paused(pause), at, writes, shifted_at };
            }
        }
        let baked = match observed {
            Ok(()) if step.bake => bake(bake_time, reached, false, gate, probe, stop).await,
            other => other,
        };
        match baked {
            Ok(()) => last_good = step.split,
            Err(BakeEnd::Stopped) => {
                tracing::info!(green = at.green(), "stopped during the bake; traffic stays at this step");
                return ShiftReport { outcome: ShiftOutcome::Stopped, at, writes, shifted_at };
            }
            Err(BakeEnd::Gate(mut f)) => {
                // The observed-traffic failure names its step itself.
                if f.gate != GateKind::ObservedTraffic {
                    f.at_step = Some(at.green());
                }
                return react_to_gate(router, plan, f, at, last_good, writes).await;
            }
        }
    }
    ShiftReport { outcome: ShiftOutcome::Reached, at, writes, shifted_at }
}

async fn react_to_gate<R: TrafficRouter + ?Sized>(
    router: &R,
    plan: &ShiftPlan,
    failure: GateFailure,
    at: TrafficSplit,
    last_good: TrafficSplit,
    mut writes: Vec<R::Receipt>,
) -> ShiftReport<R::Receipt> {
    let (back_to, halted) = match plan.on_gate_failure {
        OnGateFailure::Rollback => (plan.from, false),
        OnGateFailure::Halt => (last_good, true),
    };
    tracing::warn!(gate = %failure.gate, observation = %failure.observation, back_to = back_to.green(), "health gate failed at {at}; returning to {back_to}");
    // The way back is never gated, and it must finish even after a Ctrl-C:
    // a fresh token, so the rollback is waited for.
    // (Retry waits for throttling too: see aws::retry::unstoppable.)
    let unstoppable = CancellationToken::new();
    match crate::aws::retry::unstoppable(apply(router, back_to, &unstoppable, &mut writes)).await {
        Ok(()) => ShiftReport {
            outcome: if halted { ShiftOutcome::Halted(failure) } else { ShiftOutcome::RolledBack(failure) },
            at: back_to,
            writes,
            shifted_at: Some(crate::clock::now()),
        },
        Err(e) => {
            let observed = router.observe().await.unwrap_or(at);
            ShiftReport {
                outcome: ShiftOutcome::Failed(Error::WayBackFailed { failure, back_to, source: Box::new(e) }),
                at: observed,
                writes,
                shifted_at: Some(crate::clock::now()),
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
        type Receipt = u8;
        async fn submit(&self, split: TrafficSplit) -> Result<u8> {
            if self.fail_at == Some(split.green()) {
                return Err(Error::Aws(crate::AwsError::new("ChangeResourceRecordSets", crate::AwsErrorKind::Throttling, "Rate exceeded")));
            }
            *self.current.lock().unwrap() = split.green();
            let t = self.start.lock().unwrap().unwrap().elapsed();
            self.log.lock().unwrap().push((split.green(), t));
            Ok(split.green())
        }
        async fn settle(&self, _receipt: &u8, stop: &CancellationToken) -> Result<()> {
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
            gate: gated.then(|| HealthGate { target_group_arns: vec!["arn:tg".into()], ..HealthGate::default() }),
            on_gate_failure: on,
            gate_already_passed: false,
            observed_traffic: None,
            clock: StepClock::default(),
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
        assert_eq!(report.writes, [10, 50, 100], "what each write did, in order");
        assert_eq!(r.times(), [Duration::ZERO, Duration::from_secs(300), Duration::from_secs(600)]);
        // 1 before the first increase + 10 checks per 300 s bake (every 30 s), twice.
        assert_eq!(*p.calls.lock().unwrap(), 1 + 10 + 10);
    }

    /// A plan whose split in effect was reached `ago` seconds before now.
    fn resumed(mut p: ShiftPlan, ago: u64) -> ShiftPlan {
        p.clock.reached = Some((p.from, crate::clock::now() - Duration::from_secs(ago)));
        p
    }

    #[tokio::test(start_paused = true)]
    async fn a_shift_starting_at_a_step_bakes_only_what_is_left_of_it() {
        let r = FakeRouter::at(10);
        let p = ScriptedProbe::new(|_| 2);
        // 10 % was reached 120 s ago (an apply stopped there): 180 s of its 300 s bake are left.
        let report =
            shift(&r, &p, &resumed(plan(10, 100, &[10, 50], 300, true, OnGateFailure::Rollback), 120), &CancellationToken::new()).await;
        assert!(report.reached(), "{report:?}");
        assert_eq!(r.applied(), [50, 100]);
        assert_eq!(r.times(), [Duration::from_secs(180), Duration::from_secs(480)]);
        // Checked before anything, 6 times in the 180 s left (every 30 s), then 10 times in the bake at 50 %.
        assert_eq!(*p.calls.lock().unwrap(), 1 + 6 + 10);
        let shifted = report.shifted_at.unwrap();
        assert_eq!(crate::clock::since(crate::clock::now(), shifted), Duration::ZERO, "100 % reached just now");

        // A bake already over goes on at once; a split not known to be reached when is baked whole.
        let r = FakeRouter::at(10);
        let report =
            shift(&r, &p, &resumed(plan(10, 100, &[10], 300, false, OnGateFailure::Rollback), 301), &CancellationToken::new()).await;
        assert!(report.reached());
        assert_eq!(r.times(), [Duration::ZERO]);
        let r = FakeRouter::at(10);
        let report = shift(&r, &p, &plan(10, 100, &[10], 300, false, OnGateFailure::Rollback), &CancellationToken::new()).await;
        assert!(report.reached());
        assert_eq!(r.times(), [Duration::from_secs(300)]);
        // The clock of another split does not count for this one.
        let r = FakeRouter::at(10);
        let mut other = plan(10, 100, &[10], 300, false, OnGateFailure::Rollback);
        other.clock.reached = Some((t(20), crate::clock::now() - Duration::from_secs(3600)));
        assert!(shift(&r, &p, &other, &CancellationToken::new()).await.reached());
        assert_eq!(r.times(), [Duration::from_secs(300)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gate_failing_while_the_step_in_effect_finishes_its_bake_moves_nothing() {
        let r = FakeRouter::at(10);
        let p = ScriptedProbe::new(|t| if t < Duration::from_secs(60) { 2 } else { 0 });
        let report =
            shift(&r, &p, &resumed(plan(10, 100, &[10, 50], 300, true, OnGateFailure::Rollback), 100), &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::GateBlocked(f) => assert_eq!(f.at_step, Some(10)),
            other => panic!("{other:?}"),
        }
        assert!(r.applied().is_empty(), "nothing to roll back: no write in this apply");
        assert_eq!(report.at, t(10));
    }

    fn limited(mut p: ShiftPlan, max_wait: u64) -> ShiftPlan {
        p.clock.max_wait = Some(Duration::from_secs(max_wait));
        p
    }

    #[tokio::test(start_paused = true)]
    async fn max_wait_zero_walks_one_step_per_apply_once_its_bake_is_over() {
        let p = ScriptedProbe::new(|_| 2);
        let r = FakeRouter::at(0);
        // First apply: 0 is not a step, so 10 % is written; its bake is not waited for.
        let first =
            shift(&r, &p, &limited(plan(0, 100, &[10, 50], 3600, true, OnGateFailure::Rollback), 0), &CancellationToken::new()).await;
        let ShiftOutcome::Paused(pause) = &first.outcome else { panic!("{first:?}") };
        assert_eq!((pause.at, first.at, r.applied()), (t(10), t(10), vec![10]));
        assert_eq!(pause.reason, PauseReason::MaxWaitPerApply(Duration::ZERO));
        let reached = first.shifted_at.unwrap();
        assert_eq!((pause.reached_at, pause.ready_at), (reached, reached + Duration::from_secs(3600)));
        assert_eq!(r.start.lock().unwrap().unwrap().elapsed(), Duration::ZERO, "the apply did not wait");

        // Twenty minutes later: nothing moves, and the pause names the same time.
        tokio::time::sleep(Duration::from_secs(1200)).await;
        let next = ShiftPlan {
            clock: StepClock { reached: Some((t(10), reached)), ..Default::default() },
            ..plan(10, 100, &[10, 50], 3600, true, OnGateFailure::Rollback)
        };
        let second = shift(&r, &p, &limited(next.clone(), 0), &CancellationToken::new()).await;
        let ShiftOutcome::Paused(again) = &second.outcome else { panic!("{second:?}") };
        assert_eq!((again.at, again.ready_at, second.shifted_at), (t(10), pause.ready_at, None));
        assert_eq!(r.applied(), [10], "an apply before the bake is over changes nothing");
        assert_eq!(*p.calls.lock().unwrap(), 1, "and reads no gate");

        // After the bake: the gate is checked, 50 % written, and its bake again left to the next apply.
        tokio::time::sleep(Duration::from_secs(2400)).await;
        let third = shift(&r, &p, &limited(next, 0), &CancellationToken::new()).await;
        let ShiftOutcome::Paused(p50) = &third.outcome else { panic!("{third:?}") };
        assert_eq!((p50.at, r.applied()), (t(50), vec![10, 50]));
        assert_eq!(*p.calls.lock().unwrap(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn max_wait_lets_the_bakes_that_fit_run_and_pauses_before_the_first_that_does_not() {
        let r = FakeRouter::at(0);
        let p = ScriptedProbe::new(|_| 2);
        let report =
            shift(&r, &p, &limited(plan(0, 100, &[10, 50], 300, true, OnGateFailure::Rollback), 500), &CancellationToken::new()).await;
        let ShiftOutcome::Paused(pause) = &report.outcome else { panic!("{report:?}") };
        assert_eq!(pause.at, t(50));
        assert_eq!(r.times(), [Duration::ZERO, Duration::from_secs(300)], "10 % baked (300 s ≤ 500 s); 50 % would end at 600 s");
        // A rollback is never paused.
        let back = shift(&r, &p, &limited(plan(50, 0, &[10, 50], 300, true, OnGateFailure::Rollback), 0), &CancellationToken::new()).await;
        assert!(back.reached(), "{back:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_ends_after_credentials_that_cannot_be_renewed_expire() {
        let r = FakeRouter::at(0);
        let p = ScriptedProbe::new(|_| 2);
        let expiry = crate::clock::now() + Duration::from_secs(3600);
        let mut plan = plan(0, 100, &[10, 50], 1800, true, OnGateFailure::Rollback);
        plan.clock.credentials_expire = Some(expiry);
        let report = shift(&r, &p, &plan, &CancellationToken::new()).await;
        let ShiftOutcome::Paused(pause) = &report.outcome else { panic!("{report:?}") };
        // The bake at 10 % ends at 30 min (before 55 min); the one at 50 % would end at 60 min.
        assert_eq!((pause.at, pause.reason.clone()), (t(50), PauseReason::CredentialsExpire(expiry)));
        assert_eq!(r.times(), [Duration::ZERO, Duration::from_secs(1800)]);
    }

    #[tokio::test(start_paused = true)]
    async fn gate_failure_during_bake_rolls_back_to_the_start() {
        let r = FakeRouter::at(0);
        // Green loses its targets 7 minutes in: during the second bake.
        let p = ScriptedProbe::new(|t| if t < Duration::from_secs(420) { 2 } else { 0 });
        let report = shift(&r, &p, &plan(0, 100, &[10, 50], 300, true, OnGateFailure::Rollback), &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => assert_eq!(f.gate, GateKind::MinHealthyTargets),
            other => panic!("{other:?}"),
        }
        assert_eq!(report.at, t(0));
        assert_eq!(r.applied(), [10, 50, 0]);
        assert_eq!(report.writes, [10, 50, 0], "the way back is a write too");
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

    // --- CloudWatch gates through the shared reader -------------------------------------------

    use crate::aws::cloudwatch::AlarmStateValue;
    use crate::aws::watch::WatchRequest;
    use crate::gate::AwsGateProbe;
    use crate::metric_gate::tests::{error_rate, World, BLUE_LB, GREEN_LB, GREEN_TG};
    use crate::metric_gate::{lb_query, ErrorRateGate};

    fn alarm_plan(alarm: &str, every: u64, steps: &[u8], bake: u64) -> ShiftPlan {
        ShiftPlan {
            gate: Some(HealthGate { alarms: vec![alarm.into()], check_interval: Duration::from_secs(every), ..HealthGate::default() }),
            ..plan(0, 100, steps, bake, false, OnGateFailure::Rollback)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_entering_alarm_mid_bake_rolls_back_within_one_interval() {
        let w = World::new();
        w.cw.set_alarm("api-green-5xx", AlarmStateValue::Ok, "");
        let r = FakeRouter::at(0);
        let cw = w.cw.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(100)).await;
            cw.set_alarm("api-green-5xx", AlarmStateValue::Alarm, "Threshold Crossed");
        });
        let report = shift(&r, &w.probe(), &alarm_plan("api-green-5xx", 10, &[10, 50], 300), &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => {
                assert_eq!(f.gate, GateKind::CloudWatchAlarms);
                assert_eq!(f.observation, "alarm \"api-green-5xx\" is ALARM: Threshold Crossed");
                assert_eq!(f.at_step, Some(10));
                assert_eq!(f.to_string(), "CloudWatch alarms: alarm \"api-green-5xx\" is ALARM: Threshold Crossed (at step 10 %)");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.applied(), [10, 0]);
        let back = r.times()[1];
        assert!(back > Duration::from_secs(100) && back <= Duration::from_secs(110) + crate::aws::watch::GATHER, "rolled back at {back:?}");
    }

    /// A gate on alarm "a" at a split reached `ago` seconds before now, going on to 50 %.
    fn from_step(ago: u64, ignore_before: Option<SystemTime>) -> ShiftPlan {
        let mut p = ShiftPlan { from: t(10), to: t(50), ..alarm_plan("a", 10, &[], 0) };
        p.gate.as_mut().unwrap().ignore_before = ignore_before;
        resumed(p, ago)
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_that_fired_and_cleared_between_two_applies_refuses_the_increase_until_ignore_before() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        let now = crate::clock::now();
        let reached = now - Duration::from_secs(8 * 3600);
        // Overnight: ALARM for ten minutes three hours ago; OK now.
        let (fired, cleared) = (now - Duration::from_secs(3 * 3600), now - Duration::from_secs(3 * 3600 - 600));
        w.cw.record("a", AlarmStateValue::Ok, AlarmStateValue::Alarm, fired);
        w.cw.record("a", AlarmStateValue::Alarm, AlarmStateValue::Ok, cleared);
        // An alarm not in the gate is not judged.
        w.cw.record("other", AlarmStateValue::Ok, AlarmStateValue::Alarm, now - Duration::from_secs(60));
        let r = FakeRouter::at(10);
        let report = shift(&r, &w.probe(), &from_step(8 * 3600, None), &CancellationToken::new()).await;
        let ShiftOutcome::GateBlocked(f) = &report.outcome else { panic!("{report:?}") };
        assert_eq!(f.gate, GateKind::AlarmHistory);
        assert_eq!(
            f.observation,
            format!(
                "alarm \"a\" went to ALARM at {}, since {}, when this split was reached (2 such state changes); it is OK now",
                crate::clock::format(fired),
                crate::clock::format(reached)
            )
        );
        assert!(r.applied().is_empty(), "nothing moved");
        assert_eq!(w.cw.calls("DescribeAlarmHistory"), 1, "one page holds it all");

        // ignore_before before the incident changes nothing; after it, the increase goes ahead.
        let r = FakeRouter::at(10);
        let before = shift(&r, &w.probe(), &from_step(8 * 3600, Some(fired - Duration::from_secs(1))), &CancellationToken::new()).await;
        assert!(matches!(before.outcome, ShiftOutcome::GateBlocked(_)), "{before:?}");
        let after = shift(&r, &w.probe(), &from_step(8 * 3600, Some(cleared + Duration::from_secs(1))), &CancellationToken::new()).await;
        assert!(after.reached(), "{after:?}");
        assert_eq!(r.applied(), [50]);
        // A split reached after the incident does not see it.
        let r = FakeRouter::at(10);
        assert!(shift(&r, &w.probe(), &from_step(3 * 3600 - 601, None), &CancellationToken::new()).await.reached());
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_that_was_in_alarm_when_the_window_opened_is_seen_by_its_way_out() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        let now = crate::clock::now();
        // In ALARM from before the split was reached until an hour ago: only the way out is in the window.
        w.cw.record("a", AlarmStateValue::Ok, AlarmStateValue::Alarm, now - Duration::from_secs(5 * 3600));
        let left = now - Duration::from_secs(3600);
        w.cw.record("a", AlarmStateValue::Alarm, AlarmStateValue::Ok, left);
        let r = FakeRouter::at(10);
        let report = shift(&r, &w.probe(), &from_step(2 * 3600, None), &CancellationToken::new()).await;
        let ShiftOutcome::GateBlocked(f) = &report.outcome else { panic!("{report:?}") };
        assert!(f.observation.starts_with(&format!("alarm \"a\" was ALARM until {},", crate::clock::format(left))), "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn alarm_history_is_judged_over_fourteen_days_at_most_and_says_so() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        let now = crate::clock::now();
        let day = 24 * 3600;
        w.cw.record("a", AlarmStateValue::Ok, AlarmStateValue::Alarm, now - Duration::from_secs(15 * day));
        w.cw.record("a", AlarmStateValue::Alarm, AlarmStateValue::Ok, now - Duration::from_secs(15 * day - 60));
        let r = FakeRouter::at(10);
        assert!(shift(&r, &w.probe(), &from_step(20 * day, None), &CancellationToken::new()).await.reached(), "15 days ago is not judged");
        // Another world (the reader keeps what it read: history arrives as it happens, not 13 days late).
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        w.cw.record("a", AlarmStateValue::Ok, AlarmStateValue::Alarm, now - Duration::from_secs(13 * day));
        let r = FakeRouter::at(10);
        let report = shift(&r, &w.probe(), &from_step(20 * day, None), &CancellationToken::new()).await;
        let ShiftOutcome::GateBlocked(f) = &report.outcome else { panic!("{report:?}") };
        assert!(
            f.observation.contains(": the last 14 days only, as long as CloudWatch keeps alarm history (this split was reached earlier)"),
            "{f}"
        );
        // The window starts 14 days before the check (made a moment after `now`, in virtual time).
        let since = f.observation.split("since ").nth(1).and_then(|r| r.split(':').next().map(|_| &r[..20])).unwrap();
        let since = crate::clock::parse(since).unwrap();
        let expected = now - crate::aws::cloudwatch::ALARM_HISTORY_RETENTION;
        assert!(crate::clock::since(since, expected) <= Duration::from_secs(2), "{f}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_that_fires_and_clears_between_two_checks_of_a_bake_rolls_back_at_the_next() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        let r = FakeRouter::at(0);
        let cw = w.cw.clone();
        tokio::spawn(async move {
            // Between the ticks at 100 s and 110 s: three seconds in ALARM.
            tokio::time::sleep(Duration::from_secs(103)).await;
            cw.set_alarm("a", AlarmStateValue::Alarm, "Threshold Crossed");
            tokio::time::sleep(Duration::from_secs(3)).await;
            cw.set_alarm("a", AlarmStateValue::Ok, "");
        });
        let report = shift(&r, &w.probe(), &alarm_plan("a", 10, &[10, 50], 300), &CancellationToken::new()).await;
        let ShiftOutcome::RolledBack(f) = &report.outcome else { panic!("{report:?}") };
        assert!(f.observation.starts_with("alarm \"a\" went to ALARM at "), "{f}");
        assert!(f.observation.contains("when this split was reached (2 such state changes); it is OK now"), "{f}");
        assert_eq!(f.at_step, Some(10));
        assert_eq!(r.applied(), [10, 0]);
        let back = r.times()[1];
        assert!(back > Duration::from_secs(106) && back <= Duration::from_secs(110) + crate::aws::watch::GATHER, "rolled back at {back:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_rate_over_the_limit_since_the_split_was_reached_refuses_the_increase() {
        let w = World::new();
        // The last 5 minutes are clean; the two hours since 10 % was reached are not.
        w.traffic(GREEN_TG, GREEN_LB, 1000.0, 0.0);
        let reached = crate::clock::now() - Duration::from_secs(2 * 3600 + 17);
        let whole = crate::clock::since(crate::aws::watch::window_end(crate::clock::now()), reached).as_secs() / 60 * 60;
        let whole = Duration::from_secs(whole);
        w.cw.set_value(&crate::metric_gate::tg_query("RequestCount", "Sum", GREEN_TG, GREEN_LB, whole), 40_000.0);
        w.cw.set_value(&crate::metric_gate::tg_query("HTTPCode_Target_5XX_Count", "Sum", GREEN_TG, GREEN_LB, whole), 800.0);
        let gate =
            HealthGate { error_rate: Some(ErrorRateGate { blue_target_group_arn: None, ..error_rate(None) }), ..HealthGate::default() };
        let mut p = ShiftPlan { from: t(10), to: t(50), gate: Some(gate), ..plan(0, 100, &[], 0, false, OnGateFailure::Rollback) };
        p.clock.reached = Some((t(10), reached));
        let r = FakeRouter::at(10);
        let report = shift(&r, &w.probe(), &p, &CancellationToken::new()).await;
        let ShiftOutcome::GateBlocked(f) = &report.outcome else { panic!("{report:?}") };
        assert_eq!(f.gate, GateKind::ErrorRate(crate::gate::MetricPart::Max));
        assert_eq!(
            f.observation,
            format!(
                "green's 5xx rate is 2 % (800 of 40000 requests since {}, when this split was reached); max_percent = 1",
                crate::clock::format(reached)
            )
        );
        // Not during a bake: the trailing window alone is judged on each tick.
        assert_eq!(w.cw.calls("GetMetricData"), 2, "the trailing window and the whole time: one call per period");
    }

    #[tokio::test(start_paused = true)]
    async fn alarms_are_checked_on_every_tick_of_check_interval_and_decreases_are_not_gated() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        let r = FakeRouter::at(0);
        let report = shift(&r, &w.probe(), &alarm_plan("a", 10, &[10], 60), &CancellationToken::new()).await;
        assert!(report.reached(), "{report:?}");
        // Before the first increase, then at 10, 20, … 70 s: the bake of 60 s from 0.5 s ends on the 70 s tick.
        assert_eq!(w.cw.calls("DescribeAlarms"), 1 + 7);
        assert_eq!(r.times(), [crate::aws::watch::GATHER, Duration::from_millis(70_500)]);
        w.cw.set_alarm("a", AlarmStateValue::Alarm, "");
        let back =
            shift(&r, &w.probe(), &ShiftPlan { from: t(100), to: t(0), ..alarm_plan("a", 10, &[10], 60) }, &CancellationToken::new()).await;
        assert!(back.reached());
        assert_eq!(w.cw.calls("DescribeAlarms"), 8, "a decrease reads no alarm");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unjudged_error_rate_fails_at_the_end_of_the_bake() {
        let w = World::new();
        w.traffic(GREEN_TG, GREEN_LB, 3.0, 0.0);
        let r = FakeRouter::at(0);
        let p = ShiftPlan {
            gate: Some(HealthGate {
                error_rate: Some(ErrorRateGate { blue_target_group_arn: None, ..error_rate(None) }),
                ..HealthGate::default()
            }),
            ..plan(0, 100, &[1], 120, false, OnGateFailure::Rollback)
        };
        let report = shift(&r, &w.probe(), &p, &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => {
                assert_eq!(f.gate, GateKind::ErrorRate(crate::gate::MetricPart::MinRequests));
                assert!(f.observation.contains("green received 3 request(s) in the last 5m"), "{f}");
            }
            other => panic!("{other:?}"),
        }
        // The bake of 120 s from 0.5 s ends on the 150 s tick (30 s interval).
        assert_eq!(r.times()[1], Duration::from_millis(150_500), "judged only at the end of the bake");
    }

    fn observed(tolerance: u8, timeout: u64) -> ObservedTraffic {
        ObservedTraffic {
            blue_load_balancer_arn: BLUE_LB.into(),
            green_load_balancer_arn: GREEN_LB.into(),
            tolerance,
            timeout: Duration::from_secs(timeout),
            interval: Duration::from_secs(30),
        }
    }

    fn requests(w: &World, blue: f64, green: f64) {
        w.cw.set_value(&lb_query("RequestCount", BLUE_LB, ObservedTraffic::WINDOW), blue);
        w.cw.set_value(&lb_query("RequestCount", GREEN_LB, ObservedTraffic::WINDOW), green);
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_bakes_only_once_clients_follow_it() {
        let w = World::new();
        requests(&w, 980.0, 20.0);
        let cw = w.cw.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(100)).await;
            cw.set_value(&lb_query("RequestCount", GREEN_LB, ObservedTraffic::WINDOW), 420.0);
            cw.set_value(&lb_query("RequestCount", BLUE_LB, ObservedTraffic::WINDOW), 580.0);
        });
        let cw = w.cw.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(250)).await;
            cw.set_value(&lb_query("RequestCount", GREEN_LB, ObservedTraffic::WINDOW), 990.0);
            cw.set_value(&lb_query("RequestCount", BLUE_LB, ObservedTraffic::WINDOW), 10.0);
        });
        let r = FakeRouter::at(0);
        let p = ShiftPlan { observed_traffic: Some(observed(10, 900)), ..plan(0, 100, &[50], 60, false, OnGateFailure::Rollback) };
        let report = shift(&r, &w.probe(), &p, &CancellationToken::new()).await;
        assert!(report.reached(), "{report:?}");
        // 42 % seen at the 120 s tick (the first after the change at 100 s; read 0.5 s later), then a 60 s bake.
        assert_eq!(r.times(), [Duration::ZERO, Duration::from_millis(180_500)]);
        // The target counts once clients follow it too: 99 % at the 270 s tick.
        assert_eq!(r.start.lock().unwrap().unwrap().elapsed(), Duration::from_millis(270_500));
    }

    #[tokio::test(start_paused = true)]
    async fn clients_that_do_not_follow_the_target_fail_it_too() {
        let w = World::new();
        requests(&w, 980.0, 20.0);
        let r = FakeRouter::at(0);
        let p = ShiftPlan { observed_traffic: Some(observed(10, 300)), ..plan(0, 100, &[], 0, false, OnGateFailure::Rollback) };
        let report = shift(&r, &w.probe(), &p, &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => assert!(f.observation.starts_with("2 % observed at step 100 % after 5m"), "{f}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.applied(), [100, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_raised_after_the_last_tick_of_bake_time_stops_the_next_increase() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        let cw = w.cw.clone();
        tokio::spawn(async move {
            // bake_time runs from 0.5 s to 65.5 s; the 60 s tick passes; the alarm goes off at 63 s.
            tokio::time::sleep(Duration::from_secs(63)).await;
            cw.set_alarm("a", AlarmStateValue::Alarm, "Threshold Crossed");
        });
        let r = FakeRouter::at(0);
        let report = shift(&r, &w.probe(), &alarm_plan("a", 10, &[10], 65), &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => assert_eq!(f.gate, GateKind::CloudWatchAlarms),
            other => panic!("the end of the bake read the 60 s tick's values: {other:?}"),
        }
        // The bake ended on the 70 s tick, read then (the round sent at 70.5 s).
        assert_eq!(r.applied(), [10, 0], "never went on to 100");
        assert_eq!(r.times()[1], Duration::from_millis(70_500));
    }

    #[tokio::test(start_paused = true)]
    async fn an_alarm_raised_just_before_the_first_increase_is_read() {
        let w = World::new();
        w.cw.set_alarm("a", AlarmStateValue::Ok, "");
        // Another resource's check read the alarm at the 0 s tick; this apply starts at 8 s, after it went off.
        w.reader
            .read_every(&WatchRequest { alarms: vec!["a".into()], queries: vec![], ..Default::default() }, Duration::from_secs(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(7)).await;
        w.cw.set_alarm("a", AlarmStateValue::Alarm, "Threshold Crossed");
        let r = FakeRouter::at(0);
        let report = shift(&r, &w.probe(), &alarm_plan("a", 10, &[10], 60), &CancellationToken::new()).await;
        assert!(matches!(report.outcome, ShiftOutcome::GateBlocked(_)), "{report:?}");
        assert!(r.applied().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn clients_that_do_not_follow_fail_the_step_at_the_timeout() {
        let w = World::new();
        requests(&w, 980.0, 20.0);
        let r = FakeRouter::at(0);
        let p = ShiftPlan { observed_traffic: Some(observed(10, 300)), ..plan(0, 100, &[50], 60, false, OnGateFailure::Rollback) };
        let report = shift(&r, &w.probe(), &p, &CancellationToken::new()).await;
        match &report.outcome {
            ShiftOutcome::RolledBack(f) => {
                assert_eq!(f.gate, GateKind::ObservedTraffic);
                assert_eq!(
                    f.observation,
                    "2 % observed at step 50 % after 5m (20 request(s) at green's load balancer new, 980 at blue's old in the last \
                     minute); clients did not follow the weights within tolerance = 10"
                );
                assert_eq!(f.at_step, None, "the observation names the step");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.applied(), [50, 0]);
        assert_eq!(r.times()[1], Duration::from_millis(300_500), "at the timeout, and the way back waits for nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundred_resources_baking_at_once_share_three_calls_per_interval() {
        let w = std::sync::Arc::new(World::new());
        let mut tasks = Vec::new();
        for i in 0..100 {
            let tg = format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green{i}/{i:04}");
            w.elb.add_target_group(&tg, &[GREEN_LB]);
            w.cw.set_alarm(&format!("green-{i}-5xx"), AlarmStateValue::Ok, "");
            let probe = AwsGateProbe::with(w.elb.clone(), w.reader.clone());
            let gate = HealthGate {
                alarms: vec![format!("green-{i}-5xx")],
                error_rate: Some(ErrorRateGate {
                    green_target_group_arn: tg,
                    blue_target_group_arn: None,
                    min_requests: 0,
                    ..error_rate(None)
                }),
                ..HealthGate::default()
            };
            tasks.push(tokio::spawn(async move {
                // Resources start a few seconds apart, as Terraform walks its graph.
                tokio::time::sleep(Duration::from_millis(37 * i)).await;
                let r = FakeRouter::at(0);
                let p = ShiftPlan { gate: Some(gate), ..plan(0, 100, &[10], 300, false, OnGateFailure::Rollback) };
                shift(&r, &probe, &p, &CancellationToken::new()).await
            }));
        }
        let cw = w.cw.clone();
        let before_baking = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            (cw.calls("DescribeAlarms"), cw.calls("GetMetricData"), cw.calls("DescribeAlarmHistory"))
        });
        for t in tasks {
            assert!(t.await.unwrap().reached());
        }
        let (a0, m0, h0) = before_baking.await.unwrap();
        let (alarms, metrics, history) = (w.cw.calls("DescribeAlarms"), w.cw.calls("GetMetricData"), w.cw.calls("DescribeAlarmHistory"));
        // The checks before the first increase, spread over 3.7 s, gather in rounds of GATHER (0.5 s); 0 % has no
        // known time reached, so no history yet.
        assert!((1..=8).contains(&a0) && m0 == a0 && h0 == 0, "{a0} {m0} {h0}");
        // Then one DescribeAlarms (100 names), one DescribeAlarmHistory (every alarm's) and one GetMetricData
        // (200 queries) per 30 s tick for all hundred: the 300 s bakes, started from 0.5 s to 4.2 s, all end on the
        // 330 s tick: 11 ticks. (The bake was watched from its start: its error rate was judged window by window,
        // not again over the whole bake.)
        assert_eq!((alarms - a0, history - h0, metrics - m0), (11, 11, 11));
        assert_eq!(w.cw.largest_batch("DescribeAlarms"), 100);
        assert_eq!(w.cw.largest_batch("GetMetricData"), 200);
    }
}
