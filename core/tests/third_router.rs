//! A third router, written only against the crate's public API: an in-memory
//! endpoint group with a weight per endpoint (what a Global Accelerator
//! endpoint group is). Implementing [`TrafficRouter`] and [`Cutover`] is all
//! it takes to get the whole lifecycle — the gate check before anything is
//! made, the gated rollout, the rollback and the undo of a create, the shift,
//! and a destroy that refuses to move traffic at once — from
//! `bluegreen_core::cutover`.
//!
//! The bakes run on tokio's paused clock, so the test takes no real time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bluegreen_core::cutover::{self, Created, Cutover, Destroyed, Reconciled, Updated};
use bluegreen_core::engine::{OnGateFailure, ShiftOutcome, ShiftPlan, TrafficRouter};
use bluegreen_core::gate::{GateProbe, HealthGate, HttpCheck};
use bluegreen_core::legacy::HealthCounts;
use bluegreen_core::rollout::Rollout;
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::{Error, Refusal, Result};
use tokio_util::sync::CancellationToken;

/// The service: endpoint groups by name, each endpoint's weight (0–255 in
/// Global Accelerator; 0–100 here), and every write it took, in order.
#[derive(Default)]
struct EndpointGroups {
    groups: Mutex<BTreeMap<String, (u8, u8)>>,
    writes: Mutex<Vec<(String, u8, u8)>>,
}

impl EndpointGroups {
    fn weights(&self, group: &str) -> Option<(u8, u8)> {
        self.groups.lock().unwrap().get(group).copied()
    }

    fn put(&self, group: &str, split: TrafficSplit) -> u32 {
        let w = (split.blue(), split.green());
        self.groups.lock().unwrap().insert(group.to_string(), w);
        let mut writes = self.writes.lock().unwrap();
        writes.push((group.to_string(), w.0, w.1));
        writes.len() as u32
    }
}

/// Moves traffic between the blue and the green endpoint of one group.
struct GroupRouter {
    service: Arc<EndpointGroups>,
    group: String,
}

#[async_trait]
impl TrafficRouter for GroupRouter {
    /// The service's sequence number of the write.
    type Receipt = u32;

    async fn observe(&self) -> Result<TrafficSplit> {
        let (blue, green) = self.service.weights(&self.group).ok_or_else(|| Error::Invalid(format!("no group {}", self.group)))?;
        Ok(bluegreen_core::traffic::Weights { blue: blue.into(), green: green.into() }.split())
    }

    async fn submit(&self, split: TrafficSplit) -> Result<u32> {
        Ok(self.service.put(&self.group, split))
    }
}

/// The cutover: the group is made at create and removed at destroy (the
/// side at 100 % stays, as a plain listener would in real life).
struct GroupCutover {
    service: Arc<EndpointGroups>,
    group: String,
}

#[async_trait]
impl Cutover for GroupCutover {
    type Router = GroupRouter;
    type Made = u32;
    /// Nothing to rename or retarget: the group is the whole configuration.
    type Prior = ();

    async fn make(&self, split: TrafficSplit) -> Result<u32> {
        Ok(self.service.put(&self.group, split))
    }

    fn router(&self, _made: &u32) -> GroupRouter {
        GroupRouter { service: self.service.clone(), group: self.group.clone() }
    }

    async fn reconcile(&self, _prior: &()) -> Reconciled<u32> {
        match self.router(&0).observe().await {
            Ok(at) => Reconciled::Done { at, made: 0 },
            Err(e) => Reconciled::Unread(e),
        }
    }

    async fn unmake(&self, _made: &u32) -> Result<()> {
        self.service.groups.lock().unwrap().remove(&self.group);
        Ok(())
    }

    async fn check_destroy(&self) -> Result<()> {
        let split = self.router(&0).observe().await?;
        if split != TrafficSplit::ALL_BLUE && split != TrafficSplit::ALL_GREEN {
            return Err(Error::Refused { kind: Refusal::SplitPromote, found: format!("green has {split}"), set_identifiers: None });
        }
        Ok(())
    }

    async fn destroy(&self, _stop: &CancellationToken) -> Result<Destroyed> {
        self.check_destroy().await?;
        self.service.groups.lock().unwrap().remove(&self.group);
        Ok(Destroyed::default())
    }
}

/// Green's target group is healthy for the first `healthy_checks` reads, then has no healthy target.
struct Probe {
    healthy_checks: u32,
    reads: AtomicU32,
}

#[async_trait]
impl GateProbe for Probe {
    async fn target_health(&self, _target_group_arn: &str) -> std::result::Result<HealthCounts, String> {
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        let healthy = u32::from(n < self.healthy_checks);
        Ok(HealthCounts { healthy, unhealthy: 1 - healthy, total: 1, ..HealthCounts::default() })
    }

    async fn http_status(&self, _check: &HttpCheck) -> std::result::Result<u16, String> {
        Err("no http_check configured".into())
    }
}

fn cutover() -> (Arc<EndpointGroups>, GroupCutover) {
    let service = Arc::new(EndpointGroups::default());
    (service.clone(), GroupCutover { service, group: "eg-1".into() })
}

fn split(green: u8) -> TrafficSplit {
    TrafficSplit::green_percent(green).unwrap()
}

/// 0 → 100 through 10 % and 50 %, each baked 5 minutes, green's target group gated.
fn plan() -> ShiftPlan {
    ShiftPlan {
        from: TrafficSplit::ALL_BLUE,
        to: TrafficSplit::ALL_GREEN,
        rollout: Some(Rollout { steps: vec![10, 50], bake: Duration::from_secs(300) }),
        gate: Some(HealthGate {
            target_group_arns: vec!["green-tg".into()],
            check_interval: Duration::from_secs(30),
            ..HealthGate::default()
        }),
        on_gate_failure: OnGateFailure::Rollback,
        gate_already_passed: false,
        observed_traffic: None,
        clock: Default::default(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_third_router_gets_the_gated_create_and_a_refusing_destroy() {
    let (service, cutover) = cutover();
    let probe = Probe { healthy_checks: u32::MAX, reads: AtomicU32::new(0) };
    let stop = CancellationToken::new();

    let Created::Made { report, undo_failed: None, .. } = cutover::create(&cutover, &probe, &plan(), &stop).await else {
        panic!("the create did not reach its target")
    };
    assert!(matches!(report.outcome, ShiftOutcome::Reached), "{:?}", report.outcome);
    assert_eq!(report.at, TrafficSplit::ALL_GREEN);
    // Made at all blue (what the legacy side serves), then the steps; each write's receipt comes back.
    let written: Vec<(u8, u8)> = service.writes.lock().unwrap().iter().map(|w| (w.1, w.2)).collect();
    assert_eq!(written, [(100, 0), (90, 10), (50, 50), (0, 100)]);
    assert_eq!(report.writes, [2, 3, 4]);

    // Back to a split, then a destroy is refused without a write; at 100 % it goes ahead.
    let router = cutover.router(&1);
    let back = ShiftPlan { from: TrafficSplit::ALL_GREEN, to: split(50), rollout: None, gate: None, ..plan() };
    assert!(matches!(cutover::shift(&router, &probe, &back, &stop).await.outcome, ShiftOutcome::Reached));
    let refused = cutover.destroy(&stop).await.unwrap_err();
    assert!(matches!(refused, Error::Refused { kind: Refusal::SplitPromote, .. }), "{refused}");
    assert_eq!(service.weights("eg-1"), Some((50, 50)));
    let forward = ShiftPlan { from: split(50), to: TrafficSplit::ALL_GREEN, rollout: None, gate: None, ..plan() };
    assert!(matches!(cutover::shift(&router, &probe, &forward, &stop).await.outcome, ShiftOutcome::Reached));
    cutover.destroy(&stop).await.unwrap();
    assert_eq!(service.weights("eg-1"), None);
}

#[tokio::test(start_paused = true)]
async fn a_third_routers_create_whose_gate_fails_mid_rollout_is_undone() {
    let (service, cutover) = cutover();
    // Healthy before the create and through the first bake's checks, then not.
    let probe = Probe { healthy_checks: 4, reads: AtomicU32::new(0) };
    let started = tokio::time::Instant::now();

    let created = cutover::create(&cutover, &probe, &plan(), &CancellationToken::new()).await;
    let Created::Undone { report, .. } = created else { panic!("the create was not undone: {created:?}") };
    assert!(matches!(report.outcome, ShiftOutcome::RolledBack(_)), "{:?}", report.outcome);
    assert_eq!(report.at, TrafficSplit::ALL_BLUE);
    // Rolled back from 10 % before the second step, and the group made by the create is gone again.
    let written: Vec<(u8, u8)> = service.writes.lock().unwrap().iter().map(|w| (w.1, w.2)).collect();
    assert_eq!(written, [(100, 0), (90, 10), (100, 0)]);
    assert_eq!(service.weights("eg-1"), None);
    // The failure came at a check during the first bake, on the virtual clock.
    assert!(started.elapsed() < Duration::from_secs(300), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_third_routers_create_blocked_by_its_gate_makes_nothing() {
    let (service, cutover) = cutover();
    let probe = Probe { healthy_checks: 0, reads: AtomicU32::new(0) };
    let created = cutover::create(&cutover, &probe, &plan(), &CancellationToken::new()).await;
    assert!(matches!(created, Created::Blocked { at: TrafficSplit::ALL_BLUE, .. }), "{created:?}");
    assert!(service.writes.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_third_routers_update_shifts_from_the_split_in_effect() {
    let (service, cutover) = cutover();
    let probe = Probe { healthy_checks: u32::MAX, reads: AtomicU32::new(0) };
    let stop = CancellationToken::new();
    service.put("eg-1", split(30));
    // The plan's `from` is not what is in effect; the update reads it.
    let to_zero = ShiftPlan { to: TrafficSplit::ALL_BLUE, ..plan() };
    let Updated::Shifted { report, .. } = cutover::update(&cutover, &(), &probe, &to_zero, &stop).await else {
        panic!("the update did not shift")
    };
    assert!(matches!(report.outcome, ShiftOutcome::Reached), "{:?}", report.outcome);
    assert_eq!(service.weights("eg-1"), Some((100, 0)));
    // A group that is gone cannot be read: nothing is written.
    service.groups.lock().unwrap().clear();
    let writes = service.writes.lock().unwrap().len();
    assert!(matches!(cutover::update(&cutover, &(), &probe, &plan(), &stop).await, Updated::Unread(_)));
    assert_eq!(service.writes.lock().unwrap().len(), writes);
}
