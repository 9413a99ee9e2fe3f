//! The per-zone component: every Route 53 read and write of the cutover
//! resources goes through here, so batching, caching and back-off live in
//! one place and the resources never call Route 53 themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::aws::route53::{Change, ChangeInfo, ChangeStatus, HostedZone, ListStart, RecordSet, RecordType, Route53Api};
use crate::dns::{bare_id, canonical_name};
use crate::error::{AwsError, AwsErrorKind, Error, Result};

/// All zones this provider process touches.
pub struct Zones {
    api: Arc<dyn Route53Api>,
    zones: Mutex<HashMap<String, Arc<Zone>>>,
}

impl Zones {
    pub fn new(api: Arc<dyn Route53Api>) -> Self {
        Self { api, zones: Mutex::new(HashMap::new()) }
    }

    pub fn zone(&self, zone_id: &str) -> Arc<Zone> {
        let id = bare_id(zone_id).to_string();
        let mut zones = self.zones.lock().expect("zones lock");
        zones.entry(id.clone()).or_insert_with(|| Arc::new(Zone::new(id, self.api.clone()))).clone()
    }
}

/// How long to wait for Route 53 to report a change INSYNC.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    pub wait: bool,
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { wait: true, timeout: Duration::from_secs(600) }
    }
}

pub struct Zone {
    id: String,
    api: Arc<dyn Route53Api>,
    /// One change at a time per zone: Route 53 answers PriorRequestNotComplete
    /// to changes that overlap on a zone.
    writes: tokio::sync::Mutex<()>,
    info: tokio::sync::OnceCell<HostedZone>,
}

/// Back-off for PriorRequestNotComplete beyond the SDK's own retries.
const PRIOR_REQUEST_RETRIES: u32 = 6;

impl Zone {
    fn new(id: String, api: Arc<dyn Route53Api>) -> Self {
        Self { id, api, writes: tokio::sync::Mutex::new(()), info: tokio::sync::OnceCell::new() }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The zone itself (name, privacy), read once per process.
    pub async fn info(&self) -> Result<&HostedZone> {
        self.info
            .get_or_try_init(|| async {
                self.api.get_hosted_zone(&self.id).await.map_err(|e| match e.kind {
                    AwsErrorKind::NotFound => Error::NotFound { what: "hosted zone", searched: format!("zone_id = {:?}", self.id) },
                    _ => e.into(),
                })
            })
            .await
    }

    /// Every record set of one name and type, in Route 53's order.
    pub async fn record_sets(&self, name: &str, record_type: &RecordType) -> Result<Vec<RecordSet>> {
        let name = canonical_name(name);
        // A name and type holds at most 100 weighted sets, so one page of 300
        // that starts at the name holds them all. (LocalStack ignores
        // StartRecordIdentifier, so paging inside a set must be avoided.)
        let start = ListStart { name: Some(name.clone()), record_type: Some(record_type.clone()), set_identifier: None };
        let page = self.api.list_record_sets(&self.id, &start, 300).await.map_err(|e| match e.kind {
            AwsErrorKind::NotFound => Error::NotFound { what: "hosted zone", searched: format!("zone_id = {:?}", self.id) },
            _ => e.into(),
        })?;
        Ok(page.records.into_iter().filter(|r| r.name == name && &r.record_type == record_type).collect())
    }

    /// Submits one atomic batch. Retries PriorRequestNotComplete with
    /// back-off, holding the zone's write lock so this process never races
    /// itself.
    pub async fn change(&self, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        let _guard = self.writes.lock().await;
        let mut delay = Duration::from_millis(500);
        let mut attempt = 0;
        loop {
            match self.api.change_record_sets(&self.id, comment, changes).await {
                Err(e) if e.kind == AwsErrorKind::PriorRequestNotComplete && attempt < PRIOR_REQUEST_RETRIES => {
                    attempt += 1;
                    tracing::debug!(zone = %self.id, attempt, "PriorRequestNotComplete; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                other => return other,
            }
        }
    }

    /// Polls GetChange until INSYNC, with back-off, bounded by `sync.timeout`.
    /// Returns [`Error::Cancelled`] if `stop` fires first.
    pub async fn wait_insync(&self, change: &ChangeInfo, sync: SyncOptions, stop: &CancellationToken) -> Result<()> {
        if !sync.wait || change.status == ChangeStatus::InSync {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + sync.timeout;
        let mut delay = Duration::from_secs(1);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => return Err(Error::Cancelled(format!("waiting for change {} to be INSYNC", change.id))),
            }
            if self.api.get_change(&change.id).await?.status == ChangeStatus::InSync {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Invalid(format!(
                    "Route 53 change {} was not INSYNC after {}; it was accepted and will still take effect. Raise sync_timeout or set wait_for_sync = false.",
                    change.id,
                    crate::duration::format(sync.timeout)
                )));
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}
