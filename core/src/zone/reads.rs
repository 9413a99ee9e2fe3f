//! Reads: the zone's record sets as this process knows them, shared by concurrent readers.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::{Zone, MAX_SNAPSHOT_PAGES, PAGE_SIZE, SNAPSHOT_MAX_AGE};
use crate::aws::route53::{Change, ChangeAction, ListStart, RecordSet, RecordType};
use crate::dns::canonical_name;
use crate::error::Result;

pub(super) type Names = (String, RecordType);

/// What this process knows of the zone's record sets: from one listing of
/// the whole zone or from reads of single names, plus its own writes since.
#[derive(Default)]
pub(super) struct Known {
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

impl Zone {
    /// Every record set of one name and type, in Route 53's order.
    ///
    /// The first read of a zone waits [`super::COALESCE_WINDOW`] for company: alone,
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

    /// Every record set of the zone, in Route 53's order: one listing of the whole zone, page by page (no page
    /// limit: the caller asked for all of them). The listing also serves this process's later reads of single names,
    /// as [`Zone::record_sets`]'s own listing does.
    pub async fn all_record_sets(&self) -> Result<Vec<RecordSet>> {
        let mut known = self.known.lock().await;
        known.reads += 1;
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut start = ListStart { name: None, record_type: None, set_identifier: None };
        loop {
            let page = self.api.list_record_sets(&self.id, &start, PAGE_SIZE).await.map_err(|e| self.not_found(e))?;
            for r in page.records {
                if seen.insert(r.key()) {
                    all.push(r);
                }
            }
            match page.next {
                Some(next) if next != start => start = next,
                Some(_) => {
                    return Err(crate::error::Error::Invalid(format!(
                        "listing the record sets of zone {} does not advance past {start:?}",
                        self.id
                    )))
                }
                None => break,
            }
        }
        let now = Instant::now();
        let mut sets: HashMap<Names, (Instant, Vec<RecordSet>)> = HashMap::new();
        for r in &all {
            sets.entry((r.name.clone(), r.record_type.clone())).or_insert_with(|| (now, Vec::new())).1.push(r.clone());
        }
        known.sets = sets;
        known.whole = Some(now);
        known.stale.clear();
        tracing::debug!(zone = %self.id, record_sets = all.len(), "listed the zone");
        Ok(all)
    }

    /// Brings what is known up to date with a batch this process sent:
    /// applied, or (when the outcome is unknown) to be read again.
    pub(super) async fn note_write(&self, changes: &[Change], applied: bool) {
        let mut known = self.known.lock().await;
        let whole = known.whole;
        for c in changes {
            // Reads look names up canonically (`API.example.com` is `api.example.com.`): so do writes, or a write under
            // another spelling would hide the record sets from the next read of the name for as long as it is cached.
            let mut record = c.record.clone();
            record.name = canonical_name(&record.name);
            let names = (record.name.clone(), record.record_type.clone());
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
            let key = record.key();
            let same = |r: &RecordSet| {
                let k = r.key();
                canonical_name(&k.name) == key.name && k.record_type == key.record_type && k.set_identifier == key.set_identifier
            };
            match c.action {
                ChangeAction::Delete => list.retain(|r| !same(r)),
                ChangeAction::Create | ChangeAction::Upsert => match list.iter_mut().find(|r| same(r)) {
                    Some(r) => *r = record,
                    None => list.push(record),
                },
            }
        }
    }
}
