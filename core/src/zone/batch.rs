//! Writes: coalescing callers' changes into ChangeResourceRecordSets batches within Route 53's limits.

use std::collections::HashSet;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::reads::Names;
use super::{Zone, BURST_HORIZON, BURST_MAX_WAIT, BURST_QUIET, MAX_COMMENT};
use crate::aws::route53::{Change, ChangeAction, ChangeInfo};
use crate::dns::bare_id;
use crate::error::{AwsError, AwsErrorKind};

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
pub(super) struct Cost {
    pub(super) changes: usize,
    pub(super) records: usize,
    pub(super) value_chars: usize,
}

impl Cost {
    pub(super) fn of(changes: &[Change]) -> Cost {
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
/// One caller's changes waiting to be batched.
pub(super) struct Request {
    pub(super) comment: String,
    pub(super) changes: Vec<Change>,
    pub(super) cost: Cost,
    pub(super) reply: oneshot::Sender<Result<ChangeInfo, AwsError>>,
}

/// When writes arrived, to tell a burst (many names) from a lone writer.
#[derive(Default)]
pub(super) struct Arrivals {
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

impl Zone {
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
    /// invalid, or IAM denies it (a `ChangeResourceRecordSetsNormalizedRecordNames`
    /// condition judges the whole batch), nothing was applied: halves it until
    /// each rejected request stands alone, so the others are written. Every
    /// request gets an answer; a denied one names the record sets it wanted to write.
    /// A rejection met by a retry after a lost answer is not split: that attempt
    /// may have landed, and each request reads back what Route 53 holds instead.
    async fn send_batch(&self, batch: Vec<Request>) {
        let mut work = vec![batch];
        while let Some(group) = work.pop() {
            let changes: Vec<Change> = group.iter().flat_map(|r| r.changes.iter().cloned()).collect();
            let comment = batch_comment(&group);
            let mut result = self.send(&comment, &changes).await;
            if group.len() > 1 {
                if let Err(e) = &result {
                    if matches!(e.kind, AwsErrorKind::Invalid | AwsErrorKind::Auth) && !e.after_lost_answer {
                        tracing::debug!(zone = %self.id, requests = group.len(), error = %e, "merged batch rejected; splitting it to find the rejected change");
                        let mut group = group;
                        let second = group.split_off(group.len() / 2);
                        work.push(second);
                        work.push(group);
                        continue;
                    }
                }
            }
            if let Err(e) = &mut result {
                if e.kind == AwsErrorKind::Auth {
                    e.message = format!("{} (the denied change: {})", e.message, describe_names(&changes));
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
    pub(super) async fn send(&self, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        let result = self.api.change_record_sets(&self.id, comment, changes).await;
        tracing::debug!(zone = %self.id, changes = changes.len(), ok = result.is_ok(), "ChangeResourceRecordSets");
        if let Ok(info) = &result {
            self.written.lock().expect("written lock").insert(bare_id(&info.id).to_string(), describe(changes));
        }
        result
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

/// The record sets a change writes: `ACTION name type`, each once.
fn describe_names(changes: &[Change]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in changes {
        let action = match c.action {
            ChangeAction::Create => "CREATE",
            ChangeAction::Delete => "DELETE",
            ChangeAction::Upsert => "UPSERT",
        };
        let one = format!("{action} {} {}", c.record.name, c.record.record_type);
        if !seen.contains(&one) {
            seen.push(one);
        }
    }
    seen.join(", ")
}

pub(super) fn lost() -> AwsError {
    AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Ambiguous, "the batch carrying this change was abandoned")
}

pub(super) fn batch_comment(group: &[Request]) -> String {
    let comment = match group {
        [one] => one.comment.clone(),
        many => format!("bluegreen: {} changes: {}", many.len(), many.iter().map(|r| r.comment.as_str()).collect::<Vec<_>>().join("; ")),
    };
    if comment.chars().count() <= MAX_COMMENT {
        return comment;
    }
    comment.chars().take(MAX_COMMENT - 1).chain(['…']).collect()
}
