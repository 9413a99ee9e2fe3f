//! The guard that works while no apply runs: Route 53 health checks that
//! follow green's CloudWatch alarms, attached to green's weighted record only.
//!
//! Route 53 skips a weighted record whose health check is unhealthy (and, if
//! every record of the name is unhealthy, answers with all of them). So while
//! one of the alarms is in `ALARM`, Route 53 answers with blue alone, and with
//! green again once the alarm clears — without any process of ours running.
//!
//! One alarm gets one `CLOUDWATCH_METRIC` check, which is what the record
//! carries; several get one each under a `CALCULATED` parent that is healthy
//! only while all of them are (`HealthThreshold` = the number of children),
//! and the record carries the parent. Health checks are not part of a change
//! batch: they are created before the record change that references them and
//! deleted after the record change that drops them, so a record never points
//! at a check that is not there yet. Every check is created with a caller
//! reference of its own (its idempotency token: a retry of an ambiguous
//! create returns the check the first attempt made), starting with
//! [`CALLER_REFERENCE_PREFIX`], by which a check this provider made is told
//! from one it must not delete. Guards are read back with `ListHealthChecks`
//! (each check's configuration, a thousand a call).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::aws::route53::{AlarmIdentifier, HealthCheck, HealthCheckConfig, HealthCheckSeen, InsufficientDataHealth, Route53Api};
use crate::error::{AwsErrorKind, Result};

/// The start of every caller reference this provider creates a health check with.
pub const CALLER_REFERENCE_PREFIX: &str = "bluegreen-";

/// The guard a switch keeps on green's record: health checks on these alarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsFailover {
    region: String,
    alarms: Vec<String>,
    insufficient_data: InsufficientDataHealth,
}

impl DnsFailover {
    /// A guard on `alarms` (in `region`); `None` without alarms. An alarm in
    /// `INSUFFICIENT_DATA` makes green unhealthy when `insufficient_data_fails`;
    /// otherwise it keeps the status it had when the alarm last had data
    /// (`LastKnownStatus`: healthy for a new check), so green taken out by an
    /// alarm does not come back merely because its metric went quiet once
    /// Route 53 stopped sending it requests.
    pub fn new(region: &str, alarms: &[String], insufficient_data_fails: bool) -> Option<DnsFailover> {
        if alarms.is_empty() {
            return None;
        }
        let mut alarms = alarms.to_vec();
        alarms.sort();
        alarms.dedup();
        let insufficient_data =
            if insufficient_data_fails { InsufficientDataHealth::Unhealthy } else { InsufficientDataHealth::LastKnownStatus };
        Some(DnsFailover { region: region.to_string(), alarms, insufficient_data })
    }

    /// The alarms followed, sorted.
    pub fn alarms(&self) -> &[String] {
        &self.alarms
    }

    /// What an alarm in `INSUFFICIENT_DATA` makes its health check report.
    pub fn insufficient_data(&self) -> InsufficientDataHealth {
        self.insufficient_data
    }

    fn child(&self, alarm: &str) -> HealthCheckConfig {
        HealthCheckConfig::Alarm {
            alarm: AlarmIdentifier { region: self.region.clone(), name: alarm.to_string() },
            insufficient_data: self.insufficient_data,
        }
    }
}

/// A caller reference used once: the prefix, the time and process, and a counter.
fn caller_reference() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "{CALLER_REFERENCE_PREFIX}{:x}{:08x}-{:x}-{}",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Route 53's page size limit for ListHealthChecks.
const PAGE_SIZE: i32 = 1000;
/// An account with more health checks than this many pages is not read further.
const MAX_PAGES: usize = 50;

/// Every health check of the account, by id: one `ListHealthChecks` call per
/// thousand. (A listing rather than `GetHealthCheck` per check: one call
/// reads a whole guard, and LocalStack's `GetHealthCheck` leaves a
/// `CALCULATED` check's children out, where its listing has them.)
async fn all_checks(api: &dyn Route53Api) -> Result<HashMap<String, HealthCheck>> {
    let mut all = HashMap::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = api.list_health_checks(marker.as_deref(), PAGE_SIZE).await?;
        all.extend(page.checks.into_iter().map(|h| (h.id.clone(), h)));
        match page.next_marker {
            Some(m) if marker.as_ref() != Some(&m) => marker = Some(m),
            _ => return Ok(all),
        }
    }
    tracing::warn!("the account has more than {} health checks; read the first ones only", PAGE_SIZE as usize * MAX_PAGES);
    Ok(all)
}

/// Whether health check `id` and its children are the guard `want`, as far as
/// Route 53 reports them (a field it leaves out is not compared). A check
/// that is gone is not.
pub async fn holds(api: &dyn Route53Api, id: &str, want: &DnsFailover) -> Result<bool> {
    let all = all_checks(api).await?;
    let Some(top) = all.get(id) else { return Ok(false) };
    if let [alarm] = want.alarms.as_slice() {
        return Ok(top.is(&want.child(alarm)));
    }
    let HealthCheckSeen::Calculated { children, threshold } = &top.config else { return Ok(false) };
    if children.len() != want.alarms.len() || *threshold as usize != want.alarms.len() {
        return Ok(false);
    }
    // Each child answers for a different alarm of `want`.
    let mut pool: Vec<HealthCheckConfig> = want.alarms.iter().map(|a| want.child(a)).collect();
    for child in children {
        let Some(c) = all.get(child) else { return Ok(false) };
        let Some(i) = pool.iter().position(|w| c.is(w)) else { return Ok(false) };
        pool.swap_remove(i);
    }
    Ok(true)
}

/// Creates the guard: one check per alarm, then (for several) their parent.
/// Returns the id green's record is to carry. When a creation fails, the
/// checks already made are deleted again.
pub async fn create(api: &dyn Route53Api, want: &DnsFailover) -> Result<String> {
    let mut made: Vec<String> = Vec::new();
    let result = async {
        for alarm in &want.alarms {
            made.push(api.create_health_check(&caller_reference(), &want.child(alarm)).await?.id);
        }
        if made.len() == 1 {
            return Ok(made[0].clone());
        }
        let parent = HealthCheckConfig::Calculated { children: made.clone(), threshold: made.len() as u32 };
        Ok(api.create_health_check(&caller_reference(), &parent).await?.id)
    }
    .await;
    if result.is_err() {
        for id in made.iter().rev() {
            if let Err(e) = api.delete_health_check(id).await {
                tracing::warn!(health_check = %id, error = %e, "could not delete a health check of a guard whose creation failed");
            }
        }
    }
    tracing::info!(alarms = ?want.alarms, health_check = ?result.as_ref().ok(), "DNS failover guard created");
    result
}

/// Deletes the guard whose top check is `id`: the top first, then its
/// children. Checks this provider did not create (by their caller
/// reference) are left alone; a check already gone counts as deleted.
pub async fn delete(api: &dyn Route53Api, id: &str) -> Result<()> {
    let all = all_checks(api).await?;
    let Some(top) = all.get(id) else { return Ok(()) };
    if !top.caller_reference.starts_with(CALLER_REFERENCE_PREFIX) {
        tracing::info!(health_check = %id, "not deleting a health check this provider did not create");
        return Ok(());
    }
    let children = match &top.config {
        HealthCheckSeen::Calculated { children, .. } => children.clone(),
        _ => Vec::new(),
    };
    let ours = |h: &String| all.get(h).is_some_and(|c| c.caller_reference.starts_with(CALLER_REFERENCE_PREFIX));
    for h in std::iter::once(id.to_string()).chain(children.into_iter().filter(ours)) {
        match api.delete_health_check(&h).await {
            Ok(()) => {}
            Err(e) if e.kind == AwsErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(health_check = %id, "DNS failover guard deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::route53::HealthCheckConfig as C;
    use crate::error::AwsErrorKind;
    use crate::testing::{FakeRoute53, Fault};

    fn guard(alarms: &[&str], fails: bool) -> DnsFailover {
        DnsFailover::new("eu-west-1", &alarms.iter().map(|a| a.to_string()).collect::<Vec<_>>(), fails).unwrap()
    }

    fn alarm(name: &str, insufficient_data: InsufficientDataHealth) -> C {
        C::Alarm { alarm: AlarmIdentifier { region: "eu-west-1".into(), name: name.into() }, insufficient_data }
    }

    #[tokio::test]
    async fn one_alarm_is_one_check_several_go_under_a_calculated_parent_that_needs_all() {
        let r53 = FakeRoute53::new();
        let id = create(&r53, &guard(&["a"], true)).await.unwrap();
        assert_eq!(r53.health_checks().get(&id), Some(&alarm("a", InsufficientDataHealth::Unhealthy)));
        assert_eq!(r53.health_checks().len(), 1);

        let r53 = FakeRoute53::new();
        let id = create(&r53, &guard(&["b", "a", "c"], false)).await.unwrap();
        let all = r53.health_checks();
        assert_eq!(all.len(), 4);
        let C::Calculated { children, threshold } = &all[&id] else { panic!("{all:?}") };
        assert_eq!(*threshold, 3, "healthy only while every alarm's check is");
        let mut followed: Vec<C> = children.iter().map(|c| all[c].clone()).collect();
        followed.sort_by_key(|c| format!("{c:?}"));
        let want: Vec<C> = ["a", "b", "c"].iter().map(|a| alarm(a, InsufficientDataHealth::LastKnownStatus)).collect();
        assert_eq!(followed, want, "pass keeps the last known status");
        assert!(holds(&r53, &id, &guard(&["a", "b", "c"], false)).await.unwrap());
        assert!(!holds(&r53, &id, &guard(&["a", "b", "d"], false)).await.unwrap(), "another alarm");
        assert!(!holds(&r53, &id, &guard(&["a", "b", "c"], true)).await.unwrap(), "another INSUFFICIENT_DATA status");
        assert!(!holds(&r53, &id, &guard(&["a", "b"], false)).await.unwrap(), "fewer alarms");
        // A child deleted outside: the guard no longer holds.
        r53.remove_health_check(&children[1]);
        assert!(!holds(&r53, &id, &guard(&["a", "b", "c"], false)).await.unwrap());
        assert!(!holds(&r53, "hc-gone", &guard(&["a"], false)).await.unwrap());
    }

    #[tokio::test]
    async fn caller_references_are_unique_per_creation_and_a_failed_creation_leaves_nothing() {
        let r53 = FakeRoute53::new();
        create(&r53, &guard(&["a", "b"], false)).await.unwrap();
        create(&r53, &guard(&["a", "b"], false)).await.unwrap();
        assert_eq!(r53.health_checks().len(), 6, "the same settings again are new checks, not the old ones");
        let r53 = FakeRoute53::new();
        r53.fault("CreateHealthCheck", Fault::Pass);
        r53.fault("CreateHealthCheck", Fault::Pass);
        r53.fault("CreateHealthCheck", Fault::Fail(AwsErrorKind::Invalid, "InvalidInput"));
        assert!(create(&r53, &guard(&["a", "b"], false)).await.is_err());
        assert!(r53.health_checks().is_empty(), "the two children made are deleted again");
    }

    #[tokio::test]
    async fn delete_takes_the_parent_then_its_children_and_never_a_check_it_did_not_make() {
        let r53 = FakeRoute53::new();
        let id = create(&r53, &guard(&["a", "b"], false)).await.unwrap();
        delete(&r53, &id).await.unwrap();
        assert!(r53.health_checks().is_empty());
        delete(&r53, &id).await.unwrap();
        let foreign = r53.create_health_check("someone-else-1", &alarm("a", InsufficientDataHealth::Healthy)).await.unwrap().id;
        delete(&r53, &foreign).await.unwrap();
        assert_eq!(r53.health_checks().len(), 1, "left alone");
    }
}
