//! INSYNC: one poller per Route 53 change id, however many callers wait on it.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::batch::lost;
use super::{SyncOptions, Zone, PENDING_LOG_EVERY};
use crate::aws::route53::{ChangeInfo, ChangeStatus};
use crate::dns::bare_id;
use crate::error::{AwsError, AwsErrorKind, Error, Result};

/// The shared state of one change's INSYNC wait.
pub(super) type SyncState = Option<Result<(), AwsError>>;

impl Zone {
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
                    return Err(Error::NotInSync { change_id: id.to_string(), waited: sync.timeout, written });
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
