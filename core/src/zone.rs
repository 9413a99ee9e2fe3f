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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::aws::route53::{Change, ChangeAction, ChangeInfo, ChangeStatus, HostedZone, ListStart, RecordSet, RecordType, Route53Api};
use crate::dns::{bare_id, canonical_name};
use crate::error::{AwsError, AwsErrorKind, Error, Result};

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

/// Route 53's limits for one ChangeResourceRecordSets request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Changes (Change elements) in one request.
    pub changes: usize,
    /// ResourceRecord elements; an UPSERT counts twice.
    pub records: usize,
    /// Characters in all Value elements; an UPSERT counts twice.
    pub value_chars: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self { changes: 100, records: 1_000, value_chars: 32_000 }
    }
}

/// What a group of changes costs against [`BatchLimits`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    changes: usize,
    records: usize,
    value_chars: usize,
}

impl Cost {
    fn of(changes: &[Change]) -> Cost {
        changes.iter().fold(Cost::default(), |acc, c| {
            let twice = if c.action == ChangeAction::Upsert { 2 } else { 1 };
            Cost {
                changes: acc.changes + 1,
                records: acc.records + twice * c.record.records.len(),
                value_chars: acc.value_chars + twice * c.record.records.iter().map(String::len).sum::<usize>(),
            }
        })
    }

    fn plus(self, o: Cost) -> Cost {
        Cost { changes: self.changes + o.changes, records: self.records + o.records, value_chars: self.value_chars + o.value_chars }
    }

    fn within(self, l: BatchLimits) -> bool {
        self.changes <= l.changes && self.records <= l.records && self.value_chars <= l.value_chars
    }
}

type Names = (String, RecordType);

/// What this process knows of the zone's record sets: from one listing of
/// the whole zone or from reads of single names, plus its own writes since.
#[derive(Default)]
struct Known {
    /// Record sets per name and type, in Route 53's order, with when they
    /// were read.
    sets: HashMap<Names, (Instant, Vec<RecordSet>)>,
    /// When the whole zone was last listed: a name missing from a fresh
    /// listing has no record sets.
    whole: Option<Instant>,
    /// The zone has more than [`MAX_SNAPSHOT_PAGES`] pages.
    too_large: bool,
    /// Names whose state is unknown after a failed write: read them again.
    stale: HashSet<Names>,
    /// Reads that went to Route 53 so far.
    reads: usize,
}

impl Known {
    fn lookup(&self, key: &Names) -> Option<Vec<RecordSet>> {
        if self.stale.contains(key) {
            return None;
        }
        match self.sets.get(key) {
            Some((at, sets)) if at.elapsed() < SNAPSHOT_MAX_AGE => Some(sets.clone()),
            Some(_) => None,
            None => self.whole.filter(|at| at.elapsed() < SNAPSHOT_MAX_AGE).map(|_| Vec::new()),
        }
    }
}

/// One caller's changes waiting to be batched.
struct Request {
    comment: String,
    changes: Vec<Change>,
    cost: Cost,
    reply: oneshot::Sender<Result<ChangeInfo, AwsError>>,
}

/// When writes arrived, to tell a burst (many names) from a lone writer.
#[derive(Default)]
struct Arrivals {
    /// Writes queued so far.
    count: u64,
    /// The last write's time and name.
    last: Option<(Instant, Names)>,
    /// A burst is under way until then.
    burst_until: Option<Instant>,
}

impl Arrivals {
    fn note(&mut self, name: Names) {
        let now = Instant::now();
        if let Some((at, last)) = &self.last {
            if *last != name && now.duration_since(*at) <= BURST_HORIZON {
                self.burst_until = Some(now + BURST_HORIZON);
            }
        }
        self.last = Some((now, name));
        self.count += 1;
    }

    fn in_burst(&self) -> bool {
        self.burst_until.is_some_and(|until| Instant::now() < until)
    }
}

/// The shared state of one change's INSYNC wait.
type SyncState = Option<Result<(), AwsError>>;

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

    fn not_found(&self, e: AwsError) -> Error {
        match e.kind {
            AwsErrorKind::NotFound => Error::NotFound { what: "hosted zone", searched: format!("zone_id = {:?}", self.id) },
            _ => e.into(),
        }
    }

    /// The zone itself (name, privacy), read once per process.
    pub async fn info(&self) -> Result<&HostedZone> {
        self.info.get_or_try_init(|| async { self.api.get_hosted_zone(&self.id).await.map_err(|e| self.not_found(e)) }).await
    }

    /// Every record set of one name and type, in Route 53's order.
    ///
    /// The first read of a zone waits [`COALESCE_WINDOW`] for company: alone,
    /// it reads just its name (one call); with other reads arriving (Terraform
    /// refreshing many switches), and for every later read of a name not yet
    /// known, the whole zone is listed once and serves them all.
    pub async fn record_sets(&self, name: &str, record_type: &RecordType) -> Result<Vec<RecordSet>> {
        let key = (canonical_name(name), record_type.clone());
        self.readers.fetch_add(1, Ordering::SeqCst);
        let mut known = self.known.lock().await;
        self.readers.fetch_sub(1, Ordering::SeqCst);
        if let Some(sets) = known.lookup(&key) {
            return Ok(sets);
        }
        let many = known.reads > 0 || {
            tokio::time::sleep(self.window).await;
            self.readers.load(Ordering::SeqCst) > 0
        };
        known.reads += 1;
        if many && !known.too_large {
            match self.list_whole().await? {
                Some(sets) => {
                    let now = Instant::now();
                    known.sets = sets.into_iter().map(|(k, v)| (k, (now, v))).collect();
                    known.whole = Some(now);
                    known.stale.clear();
                    return Ok(known.lookup(&key).unwrap_or_default());
                }
                None => known.too_large = true,
            }
        }
        let sets = self.read_name(&key.0, record_type).await?;
        known.stale.remove(&key);
        known.sets.insert(key, (Instant::now(), sets.clone()));
        Ok(sets)
    }

    /// One page starting at the name: a name and type holds at most 100
    /// weighted sets, so a page of 300 holds them all. (LocalStack ignores
    /// StartRecordIdentifier, so paging inside a name is avoided.)
    async fn read_name(&self, name: &str, record_type: &RecordType) -> Result<Vec<RecordSet>> {
        let start = ListStart { name: Some(name.to_string()), record_type: Some(record_type.clone()), set_identifier: None };
        let page = self.api.list_record_sets(&self.id, &start, PAGE_SIZE).await.map_err(|e| self.not_found(e))?;
        Ok(page.records.into_iter().filter(|r| r.name == name && &r.record_type == record_type).collect())
    }

    /// Lists the whole zone, page by page; `None` when it has more than
    /// [`MAX_SNAPSHOT_PAGES`] pages.
    async fn list_whole(&self) -> Result<Option<HashMap<Names, Vec<RecordSet>>>> {
        let mut sets: HashMap<Names, Vec<RecordSet>> = HashMap::new();
        let mut seen = HashSet::new();
        let mut start = ListStart { name: None, record_type: None, set_identifier: None };
        for _ in 0..MAX_SNAPSHOT_PAGES {
            let page = self.api.list_record_sets(&self.id, &start, PAGE_SIZE).await.map_err(|e| self.not_found(e))?;
            for r in page.records {
                // A page may repeat the sets of the name it starts at when
                // the server ignores StartRecordIdentifier.
                if seen.insert(r.key()) {
                    sets.entry((r.name.clone(), r.record_type.clone())).or_default().push(r);
                }
            }
            match page.next {
                Some(next) if next != start => start = next,
                Some(_) => {
                    tracing::debug!(zone = %self.id, "listing does not advance past {start:?}; reading names one at a time");
                    return Ok(None);
                }
                None => {
                    tracing::debug!(zone = %self.id, record_sets = seen.len(), "listed the zone");
                    return Ok(Some(sets));
                }
            }
        }
        tracing::debug!(zone = %self.id, "zone has more than {MAX_SNAPSHOT_PAGES} pages; reading names one at a time");
        Ok(None)
    }

    /// Brings what is known up to date with a batch this process sent:
    /// applied, or (when the outcome is unknown) to be read again.
    async fn note_write(&self, changes: &[Change], applied: bool) {
        let mut known = self.known.lock().await;
        let whole = known.whole;
        for c in changes {
            let names = (c.record.name.clone(), c.record.record_type.clone());
            if !applied {
                known.stale.insert(names);
                continue;
            }
            // A name not read yet is known only from a listing of the zone.
            let list = match (known.sets.get_mut(&names), whole) {
                (Some((_, list)), _) => list,
                (None, Some(at)) => &mut known.sets.entry(names).or_insert((at, Vec::new())).1,
                (None, None) => continue,
            };
            let key = c.record.key();
            match c.action {
                ChangeAction::Delete => list.retain(|r| r.key() != key),
                ChangeAction::Create | ChangeAction::Upsert => match list.iter_mut().find(|r| r.key() == key) {
                    Some(r) => *r = c.record.clone(),
                    None => list.push(c.record.clone()),
                },
            }
        }
    }

    /// Submits `changes` as one atomic unit, possibly in the same
    /// ChangeResourceRecordSets as other callers' changes to this zone.
    /// Retries PriorRequestNotComplete with back-off.
    pub async fn change(&self, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        let cost = Cost::of(changes);
        if !cost.within(self.limits) {
            // Too big to merge with anything: Route 53 will say what is wrong.
            let _sending = self.sender.lock().await;
            let result = self.send(comment, changes).await;
            self.note_write(changes, result.is_ok()).await;
            return result;
        }
        let (reply, mut answer) = oneshot::channel();
        if let Some(first) = changes.first() {
            let names = (first.record.name.clone(), first.record.record_type.clone());
            self.arrivals.lock().expect("arrivals lock").note(names);
        }
        self.queue.lock().expect("queue lock").push(Request { comment: comment.to_string(), changes: changes.to_vec(), cost, reply });
        loop {
            let sending = tokio::select! {
                biased;
                r = &mut answer => return r.unwrap_or_else(|_| Err(lost())),
                guard = self.sender.lock() => guard,
            };
            // Another sender may have carried this request while we waited.
            if let Ok(r) = answer.try_recv() {
                return r;
            }
            self.gather().await;
            let batch = self.take_batch();
            if !batch.is_empty() {
                self.send_batch(batch).await;
            }
            drop(sending);
        }
    }

    /// Waits for company before a batch goes out: [`COALESCE_WINDOW`], and in
    /// a burst until no write has come for [`BURST_QUIET`], the queue holds a
    /// full batch, or [`BURST_MAX_WAIT`] has passed.
    async fn gather(&self) {
        let started = Instant::now();
        tokio::time::sleep(self.window).await;
        loop {
            let (seen, burst) = {
                let a = self.arrivals.lock().expect("arrivals lock");
                (a.count, a.in_burst())
            };
            if !burst || self.queue_is_full() || started.elapsed() >= BURST_MAX_WAIT {
                return;
            }
            let left = BURST_MAX_WAIT.saturating_sub(started.elapsed());
            tokio::time::sleep(BURST_QUIET.min(left)).await;
            if self.arrivals.lock().expect("arrivals lock").count == seen {
                return;
            }
        }
    }

    /// Whether the queued requests already fill a batch.
    fn queue_is_full(&self) -> bool {
        let queue = self.queue.lock().expect("queue lock");
        let cost = queue.iter().filter(|r| !r.reply.is_closed()).fold(Cost::default(), |c, r| c.plus(r.cost));
        !cost.within(self.limits) || cost.changes == self.limits.changes
    }

    /// Takes queued requests, oldest first, that fit in one batch and touch
    /// distinct record sets. Requests whose caller has gone are dropped.
    fn take_batch(&self) -> Vec<Request> {
        let mut queue = self.queue.lock().expect("queue lock");
        let mut batch: Vec<Request> = Vec::new();
        let mut cost = Cost::default();
        let mut keys = HashSet::new();
        let mut rest = Vec::new();
        for r in queue.drain(..) {
            if r.reply.is_closed() {
                continue;
            }
            let distinct = r.changes.iter().all(|c| !keys.contains(&c.record.key()));
            if distinct && cost.plus(r.cost).within(self.limits) {
                cost = cost.plus(r.cost);
                keys.extend(r.changes.iter().map(|c| c.record.key()));
                batch.push(r);
            } else {
                rest.push(r);
            }
        }
        *queue = rest;
        batch
    }

    /// Sends a batch of requests; when Route 53 rejects a merged batch as
    /// invalid (nothing was applied), halves it until each invalid request
    /// stands alone. Every request gets an answer.
    async fn send_batch(&self, batch: Vec<Request>) {
        let mut work = vec![batch];
        while let Some(group) = work.pop() {
            let changes: Vec<Change> = group.iter().flat_map(|r| r.changes.iter().cloned()).collect();
            let comment = batch_comment(&group);
            let result = self.send(&comment, &changes).await;
            if group.len() > 1 {
                if let Err(e) = &result {
                    if e.kind == AwsErrorKind::Invalid {
                        tracing::debug!(zone = %self.id, requests = group.len(), error = %e, "merged batch rejected; splitting it to find the invalid change");
                        let mut group = group;
                        let second = group.split_off(group.len() / 2);
                        work.push(second);
                        work.push(group);
                        continue;
                    }
                }
            }
            self.note_write(&changes, result.is_ok()).await;
            for r in group {
                let _ = r.reply.send(result.clone());
            }
        }
    }

    /// One ChangeResourceRecordSets (retried on throttling and
    /// PriorRequestNotComplete by the pacer below). The caller holds `sender`.
    async fn send(&self, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        let result = self.api.change_record_sets(&self.id, comment, changes).await;
        tracing::debug!(zone = %self.id, changes = changes.len(), ok = result.is_ok(), "ChangeResourceRecordSets");
        if let Ok(info) = &result {
            self.written.lock().expect("written lock").insert(bare_id(&info.id).to_string(), describe(changes));
        }
        result
    }

    /// Waits until Route 53 reports the change INSYNC, bounded by
    /// `sync.timeout`. One poller per change id serves every waiter.
    /// Returns [`Error::Cancelled`] if `stop` fires first.
    pub async fn wait_insync(&self, change: &ChangeInfo, sync: SyncOptions, stop: &CancellationToken) -> Result<()> {
        if !sync.wait || change.status == ChangeStatus::InSync || change.id.is_empty() {
            return Ok(());
        }
        let id = bare_id(&change.id).to_string();
        if self.in_sync.lock().expect("in_sync lock").contains(&id) {
            return Ok(());
        }
        let mut rx = self.poller(&id);
        let deadline = Instant::now() + sync.timeout;
        loop {
            if let Some(result) = rx.borrow_and_update().clone() {
                return result.map_err(Error::from);
            }
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() && rx.borrow().is_none() {
                        return Err(lost().into());
                    }
                }
                _ = stop.cancelled() => return Err(Error::Cancelled(format!("waiting for change {id} to be INSYNC"))),
                _ = tokio::time::sleep_until(deadline) => {
                    let written = self.written.lock().expect("written lock").get(&id).cloned();
                    let holds = match written {
                        Some(w) => format!("Route 53 holds the new records ({w})"),
                        None => "Route 53 holds the new records".to_string(),
                    };
                    return Err(Error::Unfinished {
                        summary: "Route 53 change still propagating",
                        detail: format!(
                            "Route 53 change {id} was not INSYNC after {} (sync_timeout). {holds}: it accepted the change, \
                             which will still propagate to its DNS servers on its own; the state records it. \
                             Nothing needs undoing: run terraform again to carry on, and raise sync_timeout (or set \
                             wait_for_sync = false) if Route 53 is often this slow.",
                            crate::duration::format(sync.timeout)
                        ),
                    });
                }
            }
        }
    }

    /// The receiver of the poller for `id`, started if none runs.
    fn poller(&self, id: &str) -> watch::Receiver<SyncState> {
        let mut syncing = self.syncing.lock().expect("syncing lock");
        if let Some(rx) = syncing.get(id) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        syncing.insert(id.to_string(), rx.clone());
        drop(syncing);
        let (api, id, zone) = (self.api.clone(), id.to_string(), self.id.clone());
        let (syncing, in_sync) = (self.syncing.clone(), self.in_sync.clone());
        tokio::spawn(async move {
            let mut delay = Duration::from_secs(1);
            let started = Instant::now();
            let mut next_log = started + PENDING_LOG_EVERY;
            let result = loop {
                tokio::time::sleep(delay).await;
                {
                    // Only the map's own receiver left: nobody waits any more.
                    // (Checked under the lock new waiters clone it under.)
                    let mut map = syncing.lock().expect("syncing lock");
                    if tx.receiver_count() <= 1 {
                        map.remove(&id);
                        return;
                    }
                }
                match api.get_change(&id).await {
                    Ok(info) if info.status == ChangeStatus::InSync => break Ok(()),
                    Ok(_) => {}
                    // The change was accepted; only the news of it is late. The
                    // waiters' sync_timeout bounds this.
                    Err(e)
                        if matches!(
                            e.kind,
                            AwsErrorKind::Throttling
                                | AwsErrorKind::PriorRequestNotComplete
                                | AwsErrorKind::Ambiguous
                                | AwsErrorKind::Unreachable
                        ) =>
                    {
                        tracing::debug!(zone = %zone, change = %id, error = %e, "GetChange failed; polling again");
                    }
                    Err(e) => break Err(e),
                }
                if Instant::now() >= next_log {
                    tracing::info!(
                        zone = %zone,
                        change = %id,
                        "Route 53 change {id} still PENDING after {}; waiting for INSYNC",
                        crate::duration::format(Duration::from_secs(started.elapsed().as_secs()))
                    );
                    next_log += PENDING_LOG_EVERY;
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            };
            tracing::debug!(zone = %zone, change = %id, ok = result.is_ok(), "INSYNC wait over");
            let mut map = syncing.lock().expect("syncing lock");
            map.remove(&id);
            if result.is_ok() {
                in_sync.lock().expect("in_sync lock").insert(id);
            }
            let _ = tx.send(Some(result));
        });
        rx
    }
}

/// What a batch writes, in words: `UPSERT api.example.com. A blue=80 green=20; …`.
fn describe(changes: &[Change]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in changes {
        let action = match c.action {
            ChangeAction::Create => "CREATE",
            ChangeAction::Delete => "DELETE",
            ChangeAction::Upsert => "UPSERT",
        };
        let routing = match &c.record.routing {
            crate::aws::route53::Routing::Weighted { set_identifier, weight } => format!(" {set_identifier}={weight}"),
            _ => String::new(),
        };
        parts.push(format!("{action} {} {}{routing}", c.record.name, c.record.record_type));
    }
    if parts.len() > 6 {
        let more = parts.len() - 6;
        parts.truncate(6);
        parts.push(format!("and {more} more"));
    }
    parts.join("; ")
}

fn lost() -> AwsError {
    AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Ambiguous, "the batch carrying this change was abandoned")
}

fn batch_comment(group: &[Request]) -> String {
    let comment = match group {
        [one] => one.comment.clone(),
        many => format!("bluegreen: {} changes: {}", many.len(), many.iter().map(|r| r.comment.as_str()).collect::<Vec<_>>().join("; ")),
    };
    if comment.chars().count() <= MAX_COMMENT {
        return comment;
    }
    comment.chars().take(MAX_COMMENT - 1).chain(['…']).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::route53::Routing;
    use crate::testing::{FakeRoute53, Fault};
    use futures::future::join_all;

    const Z: &str = "ZBATCH";

    fn weighted(name: &str, id: &str, weight: u8, ip: &str) -> RecordSet {
        RecordSet {
            name: canonical_name(name),
            record_type: RecordType::A,
            routing: Routing::Weighted { set_identifier: id.into(), weight },
            ttl: Some(60),
            records: vec![ip.into()],
            alias: None,
            health_check_id: None,
        }
    }

    fn name(i: usize) -> String {
        format!("svc{i:04}.example.com.")
    }

    /// A zone holding `n` blue/green pairs.
    fn zone_with_pairs(n: usize) -> (Arc<FakeRoute53>, Zone) {
        let fake = Arc::new(FakeRoute53::new());
        fake.add_zone(Z, "example.com");
        for i in 0..n {
            fake.put(Z, weighted(&name(i), "blue", 100, "192.0.2.1"));
            fake.put(Z, weighted(&name(i), "green", 0, "192.0.2.2"));
        }
        (fake.clone(), Zone::new(Z.into(), fake))
    }

    fn upsert(i: usize, green: u8) -> Vec<Change> {
        vec![
            Change { action: ChangeAction::Upsert, record: weighted(&name(i), "blue", 100 - green, "192.0.2.1") },
            Change { action: ChangeAction::Upsert, record: weighted(&name(i), "green", green, "192.0.2.2") },
        ]
    }

    fn green_weight(sets: &[RecordSet]) -> Option<u8> {
        sets.iter().find_map(|r| match &r.routing {
            Routing::Weighted { set_identifier, weight } if set_identifier == "green" => Some(*weight),
            _ => None,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn reads_of_many_names_share_one_paginated_listing() {
        // 700 pairs = 1,400 record sets: 5 pages of 300.
        let (fake, zone) = zone_with_pairs(700);
        let reads = join_all((0..700).map(|i| {
            let zone = &zone;
            async move { zone.record_sets(&name(i), &RecordType::A).await.unwrap() }
        }))
        .await;
        assert!(reads.iter().all(|sets| sets.len() == 2 && green_weight(sets) == Some(0)));
        // The fake, like LocalStack, ignores StartRecordIdentifier: a page may
        // start again at the first set of its name, so at most one extra page.
        let pages = fake.calls("ListResourceRecordSets");
        assert!((5..=6).contains(&pages), "{pages} ListResourceRecordSets calls for 700 names");
    }

    #[tokio::test(start_paused = true)]
    async fn reads_see_this_process_s_writes_without_listing_again() {
        let (fake, zone) = zone_with_pairs(3);
        // Alone, the first read asks for its name only.
        assert_eq!(green_weight(&zone.record_sets(&name(1), &RecordType::A).await.unwrap()), Some(0));
        assert_eq!(fake.calls("ListResourceRecordSets"), 1);
        zone.change("shift", &upsert(1, 40)).await.unwrap();
        assert_eq!(green_weight(&zone.record_sets(&name(1), &RecordType::A).await.unwrap()), Some(40));
        assert_eq!(fake.calls("ListResourceRecordSets"), 1, "a known name is served from memory");
        // A second name: the whole zone is listed, once.
        assert_eq!(zone.record_sets(&name(2), &RecordType::A).await.unwrap().len(), 2);
        assert_eq!(fake.calls("ListResourceRecordSets"), 2);
        let delete = vec![Change { action: ChangeAction::Delete, record: weighted(&name(2), "green", 0, "192.0.2.2") }];
        zone.change("delete", &delete).await.unwrap();
        let create = vec![Change { action: ChangeAction::Create, record: weighted("new.example.com", "green", 0, "192.0.2.2") }];
        zone.change("create", &create).await.unwrap();
        assert_eq!(zone.record_sets(&name(2), &RecordType::A).await.unwrap().len(), 1);
        assert_eq!(
            zone.record_sets("new.example.com", &RecordType::A).await.unwrap(),
            create[0..1].iter().map(|c| c.record.clone()).collect::<Vec<_>>()
        );
        assert!(zone.record_sets("none.example.com", &RecordType::A).await.unwrap().is_empty());
        assert_eq!(fake.calls("ListResourceRecordSets"), 2);

        // An out-of-band change is seen once the listing has aged.
        fake.put(Z, weighted(&name(0), "green", 7, "192.0.2.2"));
        assert_eq!(green_weight(&zone.record_sets(&name(0), &RecordType::A).await.unwrap()), Some(0));
        tokio::time::advance(SNAPSHOT_MAX_AGE).await;
        assert_eq!(green_weight(&zone.record_sets(&name(0), &RecordType::A).await.unwrap()), Some(7));
        assert_eq!(fake.calls("ListResourceRecordSets"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_with_an_unknown_outcome_makes_its_names_read_again() {
        let (fake, zone) = zone_with_pairs(2);
        zone.record_sets(&name(0), &RecordType::A).await.unwrap();
        fake.fault("ChangeResourceRecordSets", Fault::ApplyThenFail);
        let e = zone.change("shift", &upsert(0, 30)).await.unwrap_err();
        assert_eq!(e.kind, AwsErrorKind::Ambiguous);
        // The change landed; the name is read again, not taken from memory.
        assert_eq!(green_weight(&zone.record_sets(&name(0), &RecordType::A).await.unwrap()), Some(30));
        assert_eq!(fake.calls("ListResourceRecordSets"), 2);
        zone.record_sets(&name(0), &RecordType::A).await.unwrap();
        zone.record_sets(&name(1), &RecordType::A).await.unwrap();
        assert_eq!(fake.calls("ListResourceRecordSets"), 2, "fresh again after one read");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_writes_to_a_zone_go_out_as_one_batch() {
        let (fake, zone) = zone_with_pairs(20);
        let results = join_all((0..20).map(|i| {
            let zone = &zone;
            async move { zone.change(&format!("switch {i}"), &upsert(i, 10)).await }
        }))
        .await;
        let ids: HashSet<String> = results.into_iter().map(|r| r.unwrap().id).collect();
        assert_eq!(ids.len(), 1, "every caller got the one batch's change id");
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 1);
        assert_eq!(fake.batches()[0].len(), 40);
        assert!(fake
            .records(Z)
            .iter()
            .filter(|r| r.set_identifier() == Some("green"))
            .all(|r| r.routing == Routing::Weighted { set_identifier: "green".into(), weight: 10 }));
    }

    #[tokio::test(start_paused = true)]
    async fn batches_respect_route53_limits() {
        let (fake, zone) = zone_with_pairs(120);
        let results = join_all((0..120).map(|i| {
            let zone = &zone;
            async move { zone.change("shift", &upsert(i, 50)).await }
        }))
        .await;
        assert!(results.iter().all(Result::is_ok));
        let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
        // UPSERTs of one record each: 100 changes and 2 × 100 records per batch at most.
        assert_eq!(sizes, [100, 100, 40]);

        // The record and value-character limits bind too.
        let (fake, _) = zone_with_pairs(0);
        let zone = Zone::with_limits(Z, fake.clone(), BatchLimits { changes: 100, records: 6, value_chars: 32_000 });
        let results = join_all((0..4).map(|i| {
            let zone = &zone;
            async move { zone.change("create", &upsert(i, 0)).await }
        }))
        .await;
        assert!(results.iter().all(Result::is_ok));
        let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 2, 2], "2 UPSERTs of 1 record count 4 against 6");
        assert_eq!(Cost::of(&upsert(0, 0)), Cost { changes: 2, records: 4, value_chars: 36 });
    }

    /// Terraform hands out applies one at a time as it finishes earlier ones
    /// (`make bench`: about 100 ms apart with 500 resources). Writes arriving
    /// like that still share batches, up to Route 53's limits.
    #[tokio::test(start_paused = true)]
    async fn writes_handed_out_one_by_one_still_share_a_batch() {
        let (fake, zone) = zone_with_pairs(60);
        let started = Instant::now();
        let results = join_all((0..60).map(|i| {
            let zone = &zone;
            async move {
                // Gaps of 100 ms, with a few of 300 ms (Terraform's p99).
                let gaps: u64 = (0..i as u64).map(|k| if k % 7 == 6 { 300 } else { 100 }).sum();
                tokio::time::sleep(Duration::from_millis(gaps)).await;
                zone.change(&format!("switch {i}"), &upsert(i, 10)).await
            }
        }))
        .await;
        assert!(results.iter().all(Result::is_ok));
        let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
        // The first write cannot know a burst is coming: it goes alone after
        // COALESCE_WINDOW. Then 50 pairs fill a batch (100 changes), and the
        // last 9 go in a third.
        assert_eq!(sizes, [2, 100, 18]);
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());

        // Writes further apart than BURST_QUIET are not held back for each other.
        let (fake, zone) = zone_with_pairs(3);
        join_all((0..3).map(|i| {
            let zone = &zone;
            async move {
                tokio::time::sleep(BURST_QUIET * 2 * i as u32).await;
                zone.change("shift", &upsert(i, 10)).await.unwrap()
            }
        }))
        .await;
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 3);
    }

    /// A burst never holds a write longer than BURST_MAX_WAIT.
    #[tokio::test(start_paused = true)]
    async fn a_burst_holds_no_write_longer_than_the_max_wait() {
        let (fake, zone) = zone_with_pairs(40);
        let waits = join_all((0..40).map(|i| {
            let zone = &zone;
            async move {
                tokio::time::sleep(Duration::from_millis(300 * i as u64)).await;
                let asked = Instant::now();
                zone.change("shift", &upsert(i, 10)).await.unwrap();
                asked.elapsed()
            }
        }))
        .await;
        assert!(waits.iter().all(|w| *w <= BURST_MAX_WAIT + BURST_QUIET), "{waits:?}");
        assert!(fake.calls("ChangeResourceRecordSets") >= 2, "12 s of arrivals cannot go out as one batch");
    }

    /// One switch's rollout writes the same name step after step: each
    /// step's write goes out after COALESCE_WINDOW, not held for a burst.
    #[tokio::test(start_paused = true)]
    async fn a_lone_rollout_s_writes_wait_only_the_window() {
        let (fake, zone) = zone_with_pairs(1);
        for step in [10, 20, 30, 40] {
            let asked = Instant::now();
            zone.change("step", &upsert(0, step)).await.unwrap();
            assert!(asked.elapsed() < COALESCE_WINDOW * 2, "step {step} took {:?}", asked.elapsed());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn an_invalid_request_in_a_merged_batch_fails_alone() {
        let (fake, zone) = zone_with_pairs(8);
        let requests: Vec<Vec<Change>> = (0..8)
            .map(|i| {
                if i == 5 {
                    // Deleting a record set that is not there: Route 53 rejects the whole batch.
                    vec![Change { action: ChangeAction::Delete, record: weighted(&name(5), "purple", 1, "192.0.2.9") }]
                } else {
                    upsert(i, 25)
                }
            })
            .collect();
        let results = join_all(requests.iter().map(|changes| zone.change("mixed", changes))).await;
        for (i, r) in results.iter().enumerate() {
            match (i, r) {
                (5, Err(e)) => assert_eq!((e.kind, e.code.as_deref()), (AwsErrorKind::Invalid, Some("InvalidChangeBatch"))),
                (5, Ok(_)) => panic!("the invalid request succeeded"),
                (_, Err(e)) => panic!("request {i} failed with the invalid one: {e}"),
                (_, Ok(_)) => {}
            }
        }
        for i in (0..8).filter(|&i| i != 5) {
            assert_eq!(green_weight(&fake.records(Z).into_iter().filter(|r| r.name == name(i)).collect::<Vec<_>>()), Some(25));
        }
        assert_eq!(green_weight(&fake.records(Z).into_iter().filter(|r| r.name == name(5)).collect::<Vec<_>>()), Some(0));
        // 1 merged + halves [0,4) ok, [4,8) rejected, [4,6) rejected, [4] ok, [5] rejected, [6,8) ok.
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 7);
        let applied: usize = fake.batches().iter().map(Vec::len).sum();
        assert_eq!(applied, 14, "each valid change applied exactly once");
    }

    #[tokio::test(start_paused = true)]
    async fn writes_to_the_same_record_set_go_in_order_in_separate_batches() {
        let (fake, zone) = zone_with_pairs(1);
        let (a, b) = (upsert(0, 10), upsert(0, 20));
        let results = join_all([zone.change("first", &a), zone.change("second", &b)]).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 2);
        assert_eq!(green_weight(&fake.records(Z)), Some(20));
    }

    #[tokio::test(start_paused = true)]
    async fn one_poller_serves_every_wait_on_a_change() {
        let (fake, zone) = zone_with_pairs(0);
        fake.pending_polls(2);
        let change = ChangeInfo { id: "/change/C9".into(), status: ChangeStatus::Pending };
        let stop = CancellationToken::new();
        let waits = join_all((0..10).map(|_| zone.wait_insync(&change, SyncOptions::default(), &stop))).await;
        assert!(waits.iter().all(Result::is_ok));
        assert_eq!(fake.calls("GetChange"), 3, "PENDING, PENDING, INSYNC, once for all ten");
        zone.wait_insync(&change, SyncOptions::default(), &stop).await.unwrap();
        assert_eq!(fake.calls("GetChange"), 3, "known INSYNC");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_wait_stops_its_poller() {
        let (fake, zone) = zone_with_pairs(0);
        fake.pending_polls(1_000);
        let change = ChangeInfo { id: "C7".into(), status: ChangeStatus::Pending };
        let stop = CancellationToken::new();
        let (wait, _) = tokio::join!(zone.wait_insync(&change, SyncOptions::default(), &stop), async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            stop.cancel();
        });
        assert!(matches!(wait, Err(Error::Cancelled(_))), "{wait:?}");
        let polls = fake.calls("GetChange");
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(fake.calls("GetChange") <= polls + 1, "the poller stopped once nobody waited");
        assert!(zone.syncing.lock().unwrap().is_empty());
    }

    #[test]
    fn merged_comments_fit_route53_s_limit() {
        let req = |c: &str| Request { comment: c.into(), changes: vec![], cost: Cost::default(), reply: oneshot::channel().0 };
        assert_eq!(batch_comment(&[req("bluegreen: api 0% -> 10%")]), "bluegreen: api 0% -> 10%");
        let many: Vec<Request> = (0..40).map(|i| req(&format!("bluegreen: svc{i} 0% -> 10%"))).collect();
        let c = batch_comment(&many);
        assert!(c.starts_with("bluegreen: 40 changes: bluegreen: svc0 0% -> 10%; "), "{c}");
        assert_eq!(c.chars().count(), MAX_COMMENT);
    }

    #[tokio::test(start_paused = true)]
    async fn getchange_throttles_and_5xx_are_polled_through_until_insync() {
        let (fake, zone) = zone_with_pairs(1);
        let change = zone.change("c", &upsert(0, 20)).await.unwrap();
        for (kind, code) in [
            (AwsErrorKind::Throttling, "Throttling"),
            (AwsErrorKind::Ambiguous, "InternalFailure"),
            (AwsErrorKind::Throttling, "Throttling"),
            (AwsErrorKind::Ambiguous, "ServiceUnavailable"),
        ] {
            fake.fault("GetChange", Fault::Fail(kind, code));
        }
        fake.pending_polls(2);
        let sync = SyncOptions { wait: true, timeout: Duration::from_secs(120) };
        zone.wait_insync(&change, sync, &CancellationToken::new()).await.unwrap();
        assert_eq!(fake.calls("GetChange"), 7, "4 failed polls, 2 PENDING, 1 INSYNC");
    }

    #[tokio::test(start_paused = true)]
    async fn other_getchange_errors_end_the_wait() {
        let (fake, zone) = zone_with_pairs(1);
        let change = zone.change("c", &upsert(0, 20)).await.unwrap();
        fake.fault("GetChange", Fault::Fail(AwsErrorKind::Auth, "AccessDenied"));
        let e = zone.wait_insync(&change, SyncOptions::default(), &CancellationToken::new()).await.unwrap_err();
        assert!(e.to_string().contains("AccessDenied"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn pending_past_sync_timeout_says_what_route53_holds() {
        let (fake, zone) = zone_with_pairs(1);
        let change = zone.change("c", &upsert(0, 20)).await.unwrap();
        fake.pending_polls(1_000);
        let started = Instant::now();
        let sync = SyncOptions { wait: true, timeout: Duration::from_secs(90) };
        let e = zone.wait_insync(&change, sync, &CancellationToken::new()).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(90));
        let Error::Unfinished { summary, detail } = &e else { panic!("{e:?}") };
        assert_eq!(*summary, "Route 53 change still propagating");
        assert!(detail.contains("not INSYNC after 1m30s"), "{detail}");
        assert!(detail.contains("UPSERT svc0000.example.com. A blue=80; UPSERT svc0000.example.com. A green=20"), "{detail}");
        assert!(detail.contains("will still propagate"), "{detail}");
    }

    /// A writer the test's subscriber logs into.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_still_pending_is_logged_at_info_once_a_minute() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .without_time()
            .with_writer(move || sink.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let (fake, zone) = zone_with_pairs(1);
        let change = zone.change("c", &upsert(0, 20)).await.unwrap();
        fake.pending_polls(1_000);
        let sync = SyncOptions { wait: true, timeout: Duration::from_secs(210) };
        zone.wait_insync(&change, sync, &CancellationToken::new()).await.unwrap_err();
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("still PENDING after")).collect();
        assert_eq!(lines.len(), 3, "one INFO line a minute over 3m30s:\n{text}");
        assert!(lines.iter().all(|l| l.contains("INFO")), "{lines:?}");
        for (line, after) in lines.iter().zip(["1m", "2m", "3m"]) {
            assert!(line.contains(&format!("still PENDING after {after}")), "{line}");
        }
    }
}
