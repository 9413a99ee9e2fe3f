//! The per-zone component: every Route 53 read and write of the cutover
//! resources goes through here, so batching, caching and back-off live in
//! one place and the resources never call Route 53 themselves.
//!
//! Terraform calls the provider once per resource, up to `-parallelism` at a
//! time, all in one provider process per plan or apply. Per zone, this module
//! shares that work:
//!
//! - **Reads**: a lone read asks Route 53 for its name only. When reads of
//!   several names come (Terraform refreshing many switches), the whole zone is
//!   listed once, 300 record sets a page, while the other reads wait for it.
//!   What was read is kept coherent with every write this process makes and
//!   read again after [`SNAPSHOT_MAX_AGE`], or at once for a name whose write
//!   had an unknown outcome. A zone of more than [`MAX_SNAPSHOT_PAGES`] pages
//!   is read name by name.
//! - **Writes** that arrive within [`COALESCE_WINDOW`] of each other, or while
//!   an earlier batch is in flight, go to Route 53 as one
//!   ChangeResourceRecordSets within its limits ([`BatchLimits`]). While
//!   writes of several names keep coming (a burst: Terraform applying many
//!   switches), a batch keeps gathering until none has come for
//!   [`BURST_QUIET`], it is full, or [`BURST_MAX_WAIT`] has passed: Terraform
//!   hands the provider one apply at a time as it finishes earlier ones
//!   (about one every 100 ms with 500 resources), so a fixed window of tens of
//!   milliseconds would send them one by one. A lone write, or the steps of
//!   one switch's rollout, waits only [`COALESCE_WINDOW`]. Route 53
//!   applies a batch all or nothing; when a merged batch is rejected as
//!   invalid, it is split in halves until each bad request stands alone, so
//!   valid requests still succeed and only the bad one gets the error. Every
//!   caller gets the result of the batch that carried its changes.
//! - One write at a time per zone (this process never races itself).
//!   Throttling and PriorRequestNotComplete are retried below this module,
//!   by the Route 53 pacer ([`crate::aws::retry`]).
//! - INSYNC is polled once per change id, however many resources wait on it.
//!   A change still PENDING is logged at INFO once a minute; a GetChange that
//!   fails with throttling, a 5xx or no answer is polled again (the change
//!   was accepted: only the news of it is late) until `sync_timeout`, whose
//!   error says what Route 53 now holds and that it will still propagate.

mod batch;
mod insync;
mod reads;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::aws::route53::{HostedZone, Route53Api};
use crate::dns::bare_id;
use crate::error::{AwsError, AwsErrorKind, Error, Result};

pub use batch::BatchLimits;
use batch::{Arrivals, Request};
use insync::SyncState;
use reads::Known;

/// How long writes wait for company before the first batch goes out. Small
/// beside INSYNC (seconds), long enough for Terraform's parallel calls.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(25);
/// In a burst, a batch goes out once no write has arrived for this long.
/// Terraform 1.0 hands out applies of 500 resources about 100 ms apart (p99
/// under 300 ms, measured by `make bench`).
pub const BURST_QUIET: Duration = Duration::from_millis(400);
/// In a burst, no write waits longer than this for company.
pub const BURST_MAX_WAIT: Duration = Duration::from_secs(10);
/// Writes of two different names this close together make a burst, and it
/// lasts this long after the last such pair.
pub const BURST_HORIZON: Duration = Duration::from_secs(2);
/// A zone listing older than this is fetched again on the next read.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(60);
/// Zones needing more pages than this are read name by name instead.
pub const MAX_SNAPSHOT_PAGES: usize = 20;
/// Route 53's page size limit for ListResourceRecordSets.
const PAGE_SIZE: i32 = 300;
/// A change still PENDING is logged at INFO this often.
pub const PENDING_LOG_EVERY: Duration = Duration::from_secs(60);
/// Route 53 keeps change comments to 256 characters.
const MAX_COMMENT: usize = 256;

/// All zones this provider process touches.
pub struct Zones {
    api: Arc<dyn Route53Api>,
    zones: Mutex<HashMap<String, Arc<Zone>>>,
}

impl Zones {
    /// Zones reached through `api`.
    pub fn new(api: Arc<dyn Route53Api>) -> Self {
        Self { api, zones: Mutex::new(HashMap::new()) }
    }

    /// The zone with this id (bare or `/hostedzone/`-prefixed); the same `Zone` for the same id.
    pub fn zone(&self, zone_id: &str) -> Arc<Zone> {
        let id = bare_id(zone_id).to_string();
        let mut zones = self.zones.lock().expect("zones lock");
        zones.entry(id.clone()).or_insert_with(|| Arc::new(Zone::new(id, self.api.clone()))).clone()
    }
}

/// How long to wait for Route 53 to report a change INSYNC.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Wait for INSYNC at all; `false`: a change counts as done when Route 53 accepts it.
    pub wait: bool,
    /// How long to wait before giving up with an error.
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { wait: true, timeout: Duration::from_secs(600) }
    }
}

/// One hosted zone: cached reads of its record sets, batched writes, INSYNC waits.
pub struct Zone {
    id: String,
    api: Arc<dyn Route53Api>,
    info: tokio::sync::OnceCell<HostedZone>,
    /// Held while Route 53 is read, so concurrent reads share one listing.
    known: tokio::sync::Mutex<Known>,
    /// Reads waiting for `known`.
    readers: AtomicUsize,
    /// Requests not yet sent.
    queue: Mutex<Vec<Request>>,
    arrivals: Mutex<Arrivals>,
    /// Held by the task that sends batches: one write at a time per zone.
    sender: tokio::sync::Mutex<()>,
    limits: BatchLimits,
    window: Duration,
    /// INSYNC waits in progress, by change id; ids known INSYNC.
    syncing: Arc<Mutex<HashMap<String, watch::Receiver<SyncState>>>>,
    in_sync: Arc<Mutex<HashSet<String>>>,
    /// What each change this process sent wrote, for messages.
    written: Mutex<HashMap<String, String>>,
}

impl Zone {
    fn new(id: String, api: Arc<dyn Route53Api>) -> Self {
        Self {
            id,
            api,
            info: tokio::sync::OnceCell::new(),
            known: tokio::sync::Mutex::new(Known::default()),
            readers: AtomicUsize::new(0),
            queue: Mutex::new(Vec::new()),
            arrivals: Mutex::default(),
            sender: tokio::sync::Mutex::new(()),
            limits: BatchLimits::default(),
            window: COALESCE_WINDOW,
            syncing: Arc::default(),
            in_sync: Arc::default(),
            written: Mutex::default(),
        }
    }

    /// A zone with other batch limits (tests of the splitting).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_limits(id: &str, api: Arc<dyn Route53Api>, limits: BatchLimits) -> Self {
        Self { limits, ..Self::new(bare_id(id).to_string(), api) }
    }

    /// The bare zone id (no `/hostedzone/` prefix).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn not_found(&self, e: AwsError) -> Error {
        match e.kind {
            AwsErrorKind::NotFound => {
                Error::NotFound { what: crate::error::NotFoundKind::HostedZone, searched: format!("zone_id = {:?}", self.id) }
            }
            _ => e.into(),
        }
    }

    /// The Route 53 client behind the zone (health checks are not per zone; see [`crate::failover`]).
    pub(crate) fn api(&self) -> &dyn Route53Api {
        self.api.as_ref()
    }

    /// The zone itself (name, privacy), read once per process.
    pub async fn info(&self) -> Result<&HostedZone> {
        self.info.get_or_try_init(|| async { self.api.get_hosted_zone(&self.id).await.map_err(|e| self.not_found(e)) }).await
    }
}
