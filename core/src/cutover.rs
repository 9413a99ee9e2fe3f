//! One cutover's lifecycle, for any [`TrafficRouter`]: create (adopting what
//! is there where the cutover says so), update (bring what exists in line,
//! then shift), shift with rollout and gates, undo a create whose gate failed
//! on the way, and destroy. A router for a new kind
//! of traffic split implements [`Cutover`] and gets the whole lifecycle.
//!
//! Every step answers with a typed outcome; nothing here knows how a caller
//! (the Terraform provider) words it.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::engine::{self, ShiftOutcome, ShiftPlan, ShiftReport, TrafficRouter};
use crate::error::{Error, Result};
use crate::gate::{GateFailure, GateProbe};
use crate::traffic::TrafficSplit;

/// A cutover's lifecycle operations beyond moving traffic.
#[async_trait]
pub trait Cutover: Send + Sync {
    /// The router over what a create made.
    type Router: TrafficRouter;
    /// What a create made: what its router and an undo need.
    type Made: Clone + Send + Sync + std::fmt::Debug;
    /// What an update starts from: the cutover as it was configured before
    /// (the names a rename replaces, the targets it had).
    type Prior: Send + Sync;

    /// Makes the cutover with `split` in place. Nothing is left half made
    /// when it fails.
    async fn make(&self, split: TrafficSplit) -> Result<Self::Made>;

    /// Waits until what [`Cutover::make`] wrote is in effect; returns
    /// [`Error::Cancelled`] when `stop` fires first. Default: in effect at once.
    async fn settle(&self, _made: &Self::Made, _stop: &CancellationToken) -> Result<()> {
        Ok(())
    }

    /// The router that moves traffic on what was made.
    fn router(&self, made: &Self::Made) -> Self::Router;

    /// Reads what is in place and brings it in line with this cutover
    /// (targets, names, conditions) at the split in effect, without moving
    /// traffic. What it returns is what the router then works on and what
    /// [`Cutover::settle`] waits for.
    async fn reconcile(&self, prior: &Self::Prior) -> Reconciled<Self::Made>;

    /// Takes back what [`Cutover::make`] made, leaving traffic as before the create.
    async fn unmake(&self, made: &Self::Made) -> Result<()>;

    /// Whether [`Cutover::destroy`] would go ahead, from one read and without
    /// a write: the refusal it would meet, if any.
    async fn check_destroy(&self) -> Result<()>;

    /// Removes the cutover the way it was configured to go (collapse, delete,
    /// promote), or refuses when that would move traffic at once.
    async fn destroy(&self, stop: &CancellationToken) -> Result<Destroyed>;
}

/// How [`Cutover::reconcile`] ended.
#[derive(Debug)]
pub enum Reconciled<M> {
    /// What is in place could not be read; nothing was written.
    Unread(Error),
    /// Bringing it in line failed with `at` in effect (traffic as it was);
    /// `in_place` is what the cutover holds now.
    Failed {
        /// The split in effect.
        at: TrafficSplit,
        /// What is in place, as read.
        in_place: M,
        /// Why the rewrite failed.
        error: Error,
    },
    /// In line with the cutover (rewritten or already so), with `at` in effect.
    Done {
        /// The split in effect.
        at: TrafficSplit,
        /// What the router works on.
        made: M,
    },
}

/// How an update ended.
#[derive(Debug)]
pub enum Updated<M, R> {
    /// What is in place could not be read; nothing was written.
    Unread(Error),
    /// Bringing what exists in line failed; traffic is as it was (`at`).
    NotReconciled {
        /// The split in effect.
        at: TrafficSplit,
        /// What is in place, as read.
        in_place: M,
        /// Why the rewrite failed.
        error: Error,
    },
    /// Brought in line at `at`, but waiting for it to take effect failed or
    /// was stopped (`error`).
    Unsettled {
        /// What the router works on.
        made: M,
        /// The split in effect.
        at: TrafficSplit,
        /// Why waiting failed.
        error: Error,
    },
    /// Brought in line, then shifted from the split in effect toward the target.
    Shifted {
        /// What the router works on.
        made: M,
        /// The shift.
        report: ShiftReport<R>,
    },
}

/// A destroy that went ahead.
#[derive(Debug, Default)]
pub struct Destroyed {
    /// The removal was accepted, but waiting for it to take effect failed.
    pub unconfirmed: Option<Error>,
}

/// How a create ended.
#[derive(Debug)]
pub enum Created<M, R> {
    /// A gate failed before anything was made; traffic is as before.
    Blocked {
        /// The gate that failed and what it saw.
        failure: GateFailure,
        /// The split the create would have started at.
        at: TrafficSplit,
    },
    /// The create failed; nothing was made.
    Failed(Error),
    /// Made with `at` in place, but waiting for it to take effect failed or
    /// was stopped (`error`).
    Unsettled {
        /// What was made.
        made: M,
        /// The split it was made with.
        at: TrafficSplit,
        /// Why waiting failed.
        error: Error,
    },
    /// Made, and shifted from its first split toward the target (a report
    /// without writes when it was made at the target). `undo_failed` is set
    /// when a gate failed, traffic went back, and taking back what was made
    /// failed.
    Made {
        /// What was made.
        made: M,
        /// The rollout from the first split.
        report: ShiftReport<R>,
        /// Why taking back what was made failed, after a rollback.
        undo_failed: Option<Error>,
    },
    /// A gate failed during the rollout, traffic went back to all blue, and
    /// what was made is taken back: traffic is as before the create.
    Undone {
        /// What was made, and is now taken back.
        made: M,
        /// The rollout that ended in the rollback.
        report: ShiftReport<R>,
    },
}

/// Where a create starts: all blue when the way to the target is gated or
/// stepped (what the legacy side serves today), else at the target.
pub fn first_split(plan: &ShiftPlan) -> TrafficSplit {
    let gated = plan.gate.is_some() || plan.rollout.as_ref().is_some_and(|r| !r.steps.is_empty());
    if gated {
        TrafficSplit::ALL_BLUE
    } else {
        plan.to
    }
}

/// Creates the cutover and shifts it to `plan.to`: checks the gate before
/// making anything (so a failing gate leaves nothing behind), makes it at
/// [`first_split`], waits for that, then rolls out; a gate failure that
/// rolls all the way back undoes the create. `plan.from` is ignored.
pub async fn create<C: Cutover>(
    cutover: &C,
    probe: &dyn GateProbe,
    plan: &ShiftPlan,
    stop: &CancellationToken,
) -> Created<C::Made, <C::Router as TrafficRouter>::Receipt> {
    let initial = first_split(plan);
    if plan.to > initial {
        if let Some(g) = &plan.gate {
            if let Err(failure) = g.evaluate(probe).await {
                return Created::Blocked { failure, at: initial };
            }
        }
    }
    let made = match cutover.make(initial).await {
        Ok(m) => m,
        Err(e) => return Created::Failed(e),
    };
    tracing::info!(green = initial.green(), made = ?made, "cutover created");
    if let Err(error) = cutover.settle(&made, stop).await {
        return Created::Unsettled { made, at: initial, error };
    }
    // What was made is in effect from now: a bake at the first split runs from here.
    let made_at = crate::clock::now();
    let clock = engine::StepClock { reached: Some((initial, made_at)), ..plan.clock.clone() };
    let plan = ShiftPlan { from: initial, gate_already_passed: true, clock, ..plan.clone() };
    let mut report = engine::shift(&cutover.router(&made), probe, &plan, stop).await;
    report.shifted_at = report.shifted_at.or(Some(made_at));
    // A create rolled back to where it started is undone completely, so the
    // caller has nothing half made to account for.
    let undo_failed = match &report.outcome {
        ShiftOutcome::RolledBack(_) => match cutover.unmake(&made).await {
            Ok(()) => return Created::Undone { made, report },
            Err(e) => Some(e),
        },
        _ => None,
    };
    Created::Made { made, report, undo_failed }
}

/// Updates an existing cutover: brings what exists in line with `cutover`
/// (from `prior`) at the split in effect, waits for that, then shifts to
/// `plan.to` from there. `plan.from` is ignored: the split read is where a
/// rollback returns.
pub async fn update<C: Cutover>(
    cutover: &C,
    prior: &C::Prior,
    probe: &dyn GateProbe,
    plan: &ShiftPlan,
    stop: &CancellationToken,
) -> Updated<C::Made, <C::Router as TrafficRouter>::Receipt> {
    let (at, made) = match cutover.reconcile(prior).await {
        Reconciled::Unread(e) => return Updated::Unread(e),
        Reconciled::Failed { at, in_place, error } => return Updated::NotReconciled { at, in_place, error },
        Reconciled::Done { at, made } => (at, made),
    };
    if let Err(error) = cutover.settle(&made, stop).await {
        return Updated::Unsettled { made, at, error };
    }
    let plan = ShiftPlan { from: at, ..plan.clone() };
    let report = engine::shift(&cutover.router(&made), probe, &plan, stop).await;
    Updated::Shifted { made, report }
}

/// Shifts an existing cutover to `plan.to`, from the split its router
/// observes now (`plan.from` is ignored: a stale claim would skip a write
/// that is needed, or walk steps backwards). A failed read is reported as a
/// failed shift that wrote nothing, at `plan.from`.
pub async fn shift<R: TrafficRouter>(
    router: &R,
    probe: &dyn GateProbe,
    plan: &ShiftPlan,
    stop: &CancellationToken,
) -> ShiftReport<R::Receipt> {
    match router.observe().await {
        Ok(from) => engine::shift(router, probe, &ShiftPlan { from, ..plan.clone() }, stop).await,
        Err(e) => ShiftReport { outcome: engine::ShiftOutcome::Failed(e), at: plan.from, writes: Vec::new(), shifted_at: None },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::aws::route53::{AliasTarget, RecordType, Routing};
    use crate::aws::watch::CloudWatchReader;
    use crate::engine::OnGateFailure;
    use crate::gate::{AwsGateProbe, HealthGate};
    use crate::rollout::Rollout;
    use crate::switch::{DnsCutover, OnDestroy, PriorPair, Side, SwitchSpec, Target};
    use crate::testing::{FakeCloudWatch, FakeElbv2, FakeRoute53};
    use crate::zone::{SyncOptions, Zones};

    const Z: &str = "ZFAKE1";

    fn side(id: &str, alb: &str) -> Side {
        Side {
            set_identifier: id.into(),
            target: Target::Alias(AliasTarget {
                dns_name: alb.into(),
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                evaluate_target_health: true,
            }),
        }
    }

    fn setup() -> (Arc<FakeRoute53>, Arc<FakeElbv2>, DnsCutover) {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let spec = SwitchSpec {
            name: "api.example.com.".into(),
            record_type: RecordType::A,
            blue: side("blue", "legacy.elb.amazonaws.com."),
            green: side("green", "ecs.elb.amazonaws.com."),
            green_health_check_id: None,
        };
        // The legacy record the create adopts.
        r53.put(Z, spec.simple(&spec.blue));
        let zone = Zones::new(r53.clone()).zone(Z);
        let cutover = DnsCutover { zone, spec, sync: SyncOptions::default(), adopt: true, on_destroy: OnDestroy::Collapse, failover: None };
        (r53, Arc::new(FakeElbv2::default()), cutover)
    }

    fn plan(to: u8) -> ShiftPlan {
        ShiftPlan {
            from: TrafficSplit::ALL_GREEN,
            to: TrafficSplit::green_percent(to).unwrap(),
            rollout: Some(Rollout { steps: vec![10], bake: Duration::from_secs(600) }),
            gate: Some(HealthGate { target_group_arns: vec!["arn:tg".into()], ..HealthGate::default() }),
            on_gate_failure: OnGateFailure::Rollback,
            gate_already_passed: false,
            observed_traffic: None,
            clock: Default::default(),
        }
    }

    fn probe(elb: &Arc<FakeElbv2>) -> AwsGateProbe {
        AwsGateProbe::with(elb.clone(), CloudWatchReader::new(Arc::new(FakeCloudWatch::default())))
    }

    #[tokio::test]
    async fn a_gate_failing_before_the_create_makes_nothing() {
        let (r53, elb, cutover) = setup();
        elb.set_health("arn:tg", vec![]);
        let before = r53.records(Z);
        let created = create(&cutover, &probe(&elb), &plan(50), &CancellationToken::new()).await;
        assert!(matches!(created, Created::Blocked { at: TrafficSplit::ALL_BLUE, .. }), "{created:?}");
        assert_eq!(r53.records(Z), before);
        assert_eq!(r53.calls("ChangeResourceRecordSets"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_rolled_back_is_undone_and_the_adopted_record_answers_again() {
        let (r53, elb, cutover) = setup();
        elb.set_health("arn:tg", vec!["healthy"]);
        let before = r53.records(Z);
        let elb2 = elb.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(300)).await;
            elb2.set_health("arn:tg", vec!["unhealthy"]);
        });
        let created = create(&cutover, &probe(&elb), &plan(50), &CancellationToken::new()).await;
        let Created::Undone { made, report } = created else { panic!("{created:?}") };
        assert!(made.adopted);
        assert!(matches!(report.outcome, ShiftOutcome::RolledBack(_)), "{report:?}");
        assert_eq!(report.writes.len(), 2, "the step to 10 % and the way back");
        assert_eq!(r53.records(Z), before, "the simple record is back, the pair gone");
    }

    #[tokio::test]
    async fn an_ungated_create_goes_straight_to_the_target() {
        let (r53, elb, cutover) = setup();
        let p = ShiftPlan { rollout: None, gate: None, ..plan(30) };
        let created = create(&cutover, &probe(&elb), &p, &CancellationToken::new()).await;
        let Created::Made { report, undo_failed: None, .. } = created else { panic!("{created:?}") };
        assert_eq!((report.at.green(), report.writes.len()), (30, 0), "made at 30 %, nothing left to shift");
        let weights: Vec<Routing> = r53.records(Z).into_iter().map(|r| r.routing).collect();
        assert_eq!(
            weights,
            [
                Routing::Weighted { set_identifier: "blue".into(), weight: 70 },
                Routing::Weighted { set_identifier: "green".into(), weight: 30 }
            ]
        );
    }

    #[tokio::test]
    async fn an_update_renames_at_the_split_in_effect_then_shifts_and_an_unchanged_one_writes_only_the_shift() {
        let (r53, elb, cutover) = setup();
        let ungated = ShiftPlan { rollout: None, gate: None, ..plan(30) };
        assert!(matches!(create(&cutover, &probe(&elb), &ungated, &CancellationToken::new()).await, Created::Made { .. }));
        let prior = PriorPair {
            ids: ("blue".into(), "green".into()),
            blue: Some(cutover.spec.blue.clone()),
            green: Some(cutover.spec.green.clone()),
            failover: None,
            health_check_id: None,
        };
        let writes = r53.calls("ChangeResourceRecordSets");

        // Nothing changed: only the shift writes, from the 30 % read (not the plan's `from`).
        let to_40 = ShiftPlan { from: TrafficSplit::ALL_GREEN, ..ShiftPlan { rollout: None, gate: None, ..plan(40) } };
        let Updated::Shifted { made, report } = update(&cutover, &prior, &probe(&elb), &to_40, &CancellationToken::new()).await else {
            panic!("no shift")
        };
        assert!(made.change.id.is_empty(), "nothing to rewrite: {made:?}");
        assert_eq!((report.at.green(), report.writes.len()), (40, 1));
        assert_eq!(r53.calls("ChangeResourceRecordSets"), writes + 1);

        // Green renamed: the pair is rewritten at 40 % first, then shifted to 60 %.
        let renamed = DnsCutover { spec: SwitchSpec { green: side("ecs", "ecs.elb.amazonaws.com."), ..cutover.spec.clone() }, ..cutover };
        let to_60 = ShiftPlan { rollout: None, gate: None, ..plan(60) };
        let Updated::Shifted { made, report } = update(&renamed, &prior, &probe(&elb), &to_60, &CancellationToken::new()).await else {
            panic!("no shift")
        };
        assert!(!made.change.id.is_empty(), "the rename is a change of its own");
        assert_eq!(report.at.green(), 60);
        let weights: Vec<Routing> = r53.records(Z).into_iter().map(|r| r.routing).collect();
        assert_eq!(
            weights,
            [
                Routing::Weighted { set_identifier: "blue".into(), weight: 40 },
                Routing::Weighted { set_identifier: "ecs".into(), weight: 60 }
            ]
        );
    }
}
