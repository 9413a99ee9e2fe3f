//! The DNS switch: a pair of weighted Route 53 record sets, blue (legacy) and
//! green (new), for one name and type. Creating, adopting, shifting,
//! collapsing and deleting are each one atomic ChangeResourceRecordSets
//! batch, so the name never goes without an answer.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::aws::route53::{AliasTarget, Change, ChangeAction, ChangeInfo, ChangeStatus, RecordSet, RecordType, Routing};
use crate::cutover::{Cutover, Destroyed, Reconciled};
use crate::dns::{canonical_name, display_name};
use crate::engine::TrafficRouter;
use crate::error::{Error, Refusal, Result};
use crate::failover::{self, DnsFailover};
use crate::readback;
use crate::traffic::{TrafficSplit, Weights};
use crate::zone::{SyncOptions, Zone};

/// Where one side's answers point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The same target for every answer: an alias to an ALB, CloudFront distribution, another record, ….
    Alias(AliasTarget),
    /// Plain records with these values (IP addresses, a name, …).
    Records {
        /// The record values, one answer each.
        values: Vec<String>,
        /// Time to live, in seconds.
        ttl: i64,
    },
}

/// Where a record's answers go, TTL and health evaluation aside: the one
/// definition of "the same destination" (its `==`). DNS names compare
/// without case or a trailing dot, IP addresses as addresses (`2001:DB8::1`
/// is `2001:db8:0::1`), and a record's values as a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An alias: the target's canonical name and hosted zone.
    Alias {
        /// Canonical (lower case, trailing dot).
        dns_name: String,
        /// The target's hosted zone id, as Route 53 spells it.
        hosted_zone_id: String,
    },
    /// Plain values, each normalised, sorted, without repeats.
    Values(Vec<String>),
}

impl Destination {
    /// An alias to `dns_name` in `hosted_zone_id`.
    pub fn alias(dns_name: &str, hosted_zone_id: &str) -> Destination {
        Destination::Alias { dns_name: canonical_name(dns_name), hosted_zone_id: hosted_zone_id.to_string() }
    }

    /// Plain record values (IP addresses or host names).
    pub fn values<S: AsRef<str>>(values: &[S]) -> Destination {
        let mut v: Vec<String> = values
            .iter()
            .map(|v| {
                let v = v.as_ref().trim();
                v.parse::<IpAddr>().map_or_else(|_| canonical_name(v), |ip| ip.to_string())
            })
            .collect();
        v.sort();
        v.dedup();
        Destination::Values(v)
    }

    /// Where an existing record points.
    pub fn of_record(r: &RecordSet) -> Destination {
        match &r.alias {
            Some(a) => Destination::alias(&a.dns_name, &a.hosted_zone_id),
            None => Destination::values(&r.records),
        }
    }
}

impl Target {
    /// Where this target points.
    pub fn destination(&self) -> Destination {
        match self {
            Target::Alias(a) => Destination::alias(&a.dns_name, &a.hosted_zone_id),
            Target::Records { values, .. } => Destination::values(values),
        }
    }

    /// Whether `other` points at the same place (see [`Destination`]).
    pub fn same_destination_as(&self, other: &Target) -> bool {
        self.destination() == other.destination()
    }

    /// Whether an existing record points at the same place (see [`Destination`]).
    pub fn same_destination(&self, r: &RecordSet) -> bool {
        self.destination() == Destination::of_record(r)
    }

    fn describe(&self) -> String {
        match self {
            Target::Alias(a) => describe(Some(a), &[]),
            Target::Records { values, .. } => describe(None, values),
        }
    }
}

/// Where a record points, for messages: its alias, or its values.
fn describe(alias: Option<&AliasTarget>, values: &[String]) -> String {
    match alias {
        Some(a) => format!("alias {}", display_name(&a.dns_name)),
        None => values.join(", "),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// One side of a switch: its record's set identifier and what it answers with.
pub struct Side {
    /// The Route 53 set identifier of this side's weighted record, unique per name and type.
    pub set_identifier: String,
    /// What this side's record answers with.
    pub target: Target,
}

/// The configured pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchSpec {
    /// Canonical name (lower case, trailing dot).
    pub name: String,
    /// The record type of both records (A, AAAA, CNAME, …).
    pub record_type: RecordType,
    /// The legacy side.
    pub blue: Side,
    /// The new side.
    pub green: Side,
    /// The health check green's weighted record carries (the DNS failover guard, see [`crate::failover`]); blue's
    /// record and a collapsed simple record never carry one.
    pub green_health_check_id: Option<String>,
}

impl SwitchSpec {
    fn record(&self, side: &Side, routing: Routing) -> RecordSet {
        let (ttl, records, alias) = match &side.target {
            Target::Alias(a) => (None, Vec::new(), Some(a.clone())),
            Target::Records { values, ttl } => (Some(*ttl), values.clone(), None),
        };
        RecordSet { name: self.name.clone(), record_type: self.record_type.clone(), routing, ttl, records, alias, health_check_id: None }
    }

    /// `side`'s weighted record at `weight` (0–255; larger values are capped at 255).
    pub fn weighted(&self, side: &Side, weight: u32) -> RecordSet {
        let weight = u8::try_from(weight).unwrap_or(u8::MAX);
        self.record(side, Routing::Weighted { set_identifier: side.set_identifier.clone(), weight })
    }

    /// `side` as a simple (non-weighted) record at the name, what a collapse leaves.
    pub fn simple(&self, side: &Side) -> RecordSet {
        self.record(side, Routing::Simple)
    }

    fn pair(&self, split: TrafficSplit) -> [RecordSet; 2] {
        let w = split.weights();
        let mut green = self.weighted(&self.green, w.green);
        green.health_check_id.clone_from(&self.green_health_check_id);
        [self.weighted(&self.blue, w.blue), green]
    }

    fn label(&self) -> String {
        format!("{} {}", self.record_type, display_name(&self.name))
    }
}

/// What Route 53 holds for a switch's name and type.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Blue's weighted record, by set identifier.
    pub blue: Option<RecordSet>,
    /// Green's weighted record, by set identifier.
    pub green: Option<RecordSet>,
    /// Record sets of the same name and type that are not the pair.
    pub others: Vec<RecordSet>,
}

fn weight_of(r: &RecordSet) -> Option<u32> {
    match r.routing {
        Routing::Weighted { weight, .. } => Some(u32::from(weight)),
        _ => None,
    }
}

impl Observed {
    /// Sorts `all` (the record sets of one name and type) into blue, green and others by set identifier.
    pub fn split_records(all: Vec<RecordSet>, blue_id: &str, green_id: &str) -> Observed {
        let mut o = Observed::default();
        for r in all {
            match &r.routing {
                Routing::Weighted { set_identifier, .. } if set_identifier == blue_id && o.blue.is_none() => o.blue = Some(r),
                Routing::Weighted { set_identifier, .. } if set_identifier == green_id && o.green.is_none() => o.green = Some(r),
                _ => o.others.push(r),
            }
        }
        o
    }

    /// The split answers really follow: from the weights when both sides
    /// exist; all to the one side that exists otherwise.
    pub fn split(&self) -> Option<TrafficSplit> {
        match (&self.blue, &self.green) {
            (Some(b), Some(g)) => Some(Weights { blue: weight_of(b).unwrap_or(0), green: weight_of(g).unwrap_or(0) }.split()),
            (Some(_), None) => Some(TrafficSplit::ALL_BLUE),
            (None, Some(_)) => Some(TrafficSplit::ALL_GREEN),
            (None, None) => None,
        }
    }

    /// Whether neither record of the pair exists.
    pub fn is_gone(&self) -> bool {
        self.blue.is_none() && self.green.is_none()
    }
}

/// Reads what Route 53 holds for the switch.
pub async fn observe(zone: &Zone, name: &str, record_type: &RecordType, blue_id: &str, green_id: &str) -> Result<Observed> {
    Ok(Observed::split_records(zone.record_sets(name, record_type).await?, blue_id, green_id))
}

fn refused(kind: Refusal, found: String) -> Error {
    Error::Refused { kind, found, set_identifiers: None }
}

/// A created pair: the change, and whether it replaced an existing simple record.
#[derive(Debug, Clone)]
pub struct Created {
    /// The Route 53 change that created the pair.
    pub change: ChangeInfo,
    /// Whether an existing simple record was replaced (an undo puts it back).
    pub adopted: bool,
    /// The health check green's record carries (the DNS failover guard), if any.
    pub health_check_id: Option<String>,
}

/// What a create of the pair would find at the name, from one (cached) read and without a write: the simple record it
/// would adopt (with `adopt`), or the refusal it would meet. For checking a create at plan time, before anything moves.
pub async fn check_create(zone: &Zone, spec: &SwitchSpec, adopt: bool) -> Result<Option<RecordSet>> {
    let existing = observe(zone, &spec.name, &spec.record_type, &spec.blue.set_identifier, &spec.green.set_identifier).await?;
    to_adopt(&existing, spec, adopt)
}

/// The simple record a create adopts from `existing`, or why the create is refused.
fn to_adopt(existing: &Observed, spec: &SwitchSpec, adopt: bool) -> Result<Option<RecordSet>> {
    let label = spec.label();
    if let Some(ours) = existing.blue.as_ref().or(existing.green.as_ref()) {
        return Err(Error::Refused {
            kind: Refusal::WeightedRecordExists,
            found: format!(
                "{label} already has a weighted record set with set_identifier {:?} that this configuration did not create.",
                ours.set_identifier().unwrap_or_default(),
            ),
            set_identifiers: Some((spec.blue.set_identifier.clone(), spec.green.set_identifier.clone())),
        });
    }
    match existing.others.as_slice() {
        [] => Ok(None),
        [simple] if simple.routing == Routing::Simple => {
            if !adopt {
                return Err(refused(
                    Refusal::RecordExists,
                    format!("{label} already exists as a simple record ({}).", describe(simple.alias.as_ref(), &simple.records)),
                ));
            }
            if !spec.blue.target.same_destination(simple) {
                return Err(refused(
                    Refusal::RecordPointsElsewhere,
                    format!(
                        "{label} points to {}, but blue points to {}. Nothing was changed.",
                        describe(simple.alias.as_ref(), &simple.records),
                        spec.blue.target.describe()
                    ),
                ));
            }
            Ok(Some(simple.clone()))
        }
        others => {
            let ids: Vec<String> = others
                .iter()
                .map(|r| match &r.routing {
                    Routing::Simple => "a simple record".to_string(),
                    Routing::Weighted { set_identifier, .. } => format!("weighted set {set_identifier:?}"),
                    Routing::Other { policy, set_identifier } => format!("{policy} set {set_identifier:?}"),
                })
                .collect();
            Err(refused(
                Refusal::ForeignRecordSets,
                format!("{label} already has record sets this configuration does not own ({}).", ids.join(", ")),
            ))
        }
    }
}

/// Creates the pair at `split`. With `adopt`, an existing simple record that
/// points where blue says is replaced in the same batch. Anything else
/// already at the name is left alone and reported.
pub async fn create(zone: &Zone, spec: &SwitchSpec, split: TrafficSplit, adopt: bool) -> Result<Created> {
    let existing = observe(zone, &spec.name, &spec.record_type, &spec.blue.set_identifier, &spec.green.set_identifier).await?;
    let label = spec.label();
    let mut changes = Vec::new();
    if let Some(simple) = to_adopt(&existing, spec, adopt)? {
        changes.push(Change { action: ChangeAction::Delete, record: simple });
    }
    for r in spec.pair(split) {
        changes.push(Change { action: ChangeAction::Create, record: r });
    }
    let adopted = changes.len() == 3;
    let comment = if adopted { format!("bluegreen: adopt {label}") } else { format!("bluegreen: create {label}") };
    let change = match submit(zone, spec, &comment, &changes, Some(split)).await {
        // Route 53 refused the CREATE on a first attempt: another writer (a
        // second resource of this apply, another workspace) made a record set
        // of the pair after the read above. It is theirs, not ours to adopt.
        Err(Error::Aws(e)) if e.code.as_deref() == Some("InvalidChangeBatch") && !e.after_lost_answer => {
            let now = observe(zone, &spec.name, &spec.record_type, &spec.blue.set_identifier, &spec.green.set_identifier).await?;
            let Some(theirs) = now.blue.as_ref().or(now.green.as_ref()) else { return Err(e.into()) };
            return Err(Error::Refused {
                kind: Refusal::WeightedRecordExists,
                found: format!(
                    "{label}: a weighted record set with set_identifier {:?} was created by another writer while this switch was \
                     being created (Route 53: {}).",
                    theirs.set_identifier().unwrap_or_default(),
                    e.message
                ),
                set_identifiers: Some((spec.blue.set_identifier.clone(), spec.green.set_identifier.clone())),
            });
        }
        other => other?,
    };
    Ok(Created { change, adopted, health_check_id: spec.green_health_check_id.clone() })
}

/// Undoes a create that was rolled back to all-blue: the adopted simple
/// record comes back (one batch, the name keeps answering), or the pair goes.
pub async fn undo_create(zone: &Zone, spec: &SwitchSpec, adopted: bool) -> Result<()> {
    destroy(zone, spec, if adopted { OnDestroy::Collapse } else { OnDestroy::Delete }).await.map(|_| ())
}

/// Whether Route 53's record `r` is `want` as written: the same routing, TTL,
/// health check and health evaluation, and the same [`Destination`] (Route 53
/// may spell a name or an address differently from the request).
fn holds(r: &RecordSet, want: &RecordSet) -> bool {
    let evaluate = |r: &RecordSet| r.alias.as_ref().map(|a| a.evaluate_target_health);
    r.routing == want.routing
        && r.ttl == want.ttl
        && r.health_check_id == want.health_check_id
        && evaluate(r) == evaluate(want)
        && Destination::of_record(r) == Destination::of_record(want)
}

/// Submits a batch; after an ambiguous failure (no answer, 5xx) reads the
/// name back and treats the batch as applied when Route 53 already holds
/// what it was meant to produce, so nothing is applied twice.
async fn submit(zone: &Zone, spec: &SwitchSpec, comment: &str, changes: &[Change], expect: Option<TrafficSplit>) -> Result<ChangeInfo> {
    let read_back = || async {
        let now = observe(zone, &spec.name, &spec.record_type, &spec.blue.set_identifier, &spec.green.set_identifier).await?;
        let landed = changes.iter().all(|c| {
            let key = c.record.key();
            let present = [&now.blue, &now.green].into_iter().flatten().chain(now.others.iter()).find(|r| r.key() == key);
            match c.action {
                ChangeAction::Delete => present.is_none(),
                ChangeAction::Create | ChangeAction::Upsert => present.is_some_and(|r| holds(r, &c.record)),
            }
        });
        // Already in place: nothing was submitted now, so there is no change to wait for.
        Ok((landed && (expect.is_none() || now.split() == expect))
            .then(|| ChangeInfo { id: String::new(), status: crate::aws::route53::ChangeStatus::InSync }))
    };
    readback::confirm(
        zone.change(comment, changes).await,
        Some("InvalidChangeBatch"),
        read_back,
        "the change was not confirmed, but Route 53 already holds its result; not applying it again",
    )
    .await
}

/// Writes both records with the weights of `split` (and the configured
/// targets), in one UPSERT batch. Renamed set identifiers are moved in the
/// same batch.
pub async fn write(zone: &Zone, spec: &SwitchSpec, split: TrafficSplit, previous_ids: Option<(&str, &str)>) -> Result<ChangeInfo> {
    let mut changes: Vec<Change> = Vec::new();
    if let Some((old_blue, old_green)) = previous_ids {
        if old_blue != spec.blue.set_identifier || old_green != spec.green.set_identifier {
            let before = observe(zone, &spec.name, &spec.record_type, old_blue, old_green).await?;
            for (old, new, rec) in
                [(old_blue, &spec.blue.set_identifier, &before.blue), (old_green, &spec.green.set_identifier, &before.green)]
            {
                if old != new.as_str() {
                    if let Some(r) = rec {
                        changes.push(Change { action: ChangeAction::Delete, record: r.clone() });
                    }
                }
            }
        }
    }
    changes.extend(spec.pair(split).into_iter().map(|record| Change { action: ChangeAction::Upsert, record }));
    submit(zone, spec, &format!("bluegreen: {} -> {split}", spec.label()), &changes, Some(split)).await
}

/// How a destroy leaves the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDestroy {
    /// One batch replaces the pair with a simple record for the side at 100 %.
    Collapse,
    /// Remove both records.
    Delete,
}

/// Removes the pair. Refuses to collapse while traffic is split.
pub async fn destroy(zone: &Zone, spec: &SwitchSpec, mode: OnDestroy) -> Result<Option<ChangeInfo>> {
    let now = observe(zone, &spec.name, &spec.record_type, &spec.blue.set_identifier, &spec.green.set_identifier).await?;
    let mut changes: Vec<Change> =
        [&now.blue, &now.green].into_iter().flatten().map(|r| Change { action: ChangeAction::Delete, record: r.clone() }).collect();
    if changes.is_empty() {
        return Ok(None);
    }
    if let Some(winner) = destroy_refusal(&now, spec, mode)? {
        changes.push(Change { action: ChangeAction::Create, record: spec.simple(winner) });
    }
    let verb = if mode == OnDestroy::Collapse { "collapse" } else { "delete" };
    submit(zone, spec, &format!("bluegreen: {verb} {}", spec.label()), &changes, None).await.map(Some)
}

/// Whether [`destroy`] would go ahead, from one read and without a write: the
/// refusal it would return, if any. For checking a destroy at plan time.
pub async fn check_destroy(zone: &Zone, spec: &SwitchSpec, mode: OnDestroy) -> Result<()> {
    let now = observe(zone, &spec.name, &spec.record_type, &spec.blue.set_identifier, &spec.green.set_identifier).await?;
    destroy_refusal(&now, spec, mode).map(|_| ())
}

/// The refusal a destroy meets in `now`, or (collapsing) the side whose simple record stays.
fn destroy_refusal<'a>(now: &Observed, spec: &'a SwitchSpec, mode: OnDestroy) -> Result<Option<&'a Side>> {
    if mode != OnDestroy::Collapse {
        return Ok(None);
    }
    let label = spec.label();
    let winner = match now.split() {
        None => return Ok(None),
        Some(s) if s == TrafficSplit::ALL_BLUE => &spec.blue,
        Some(s) if s == TrafficSplit::ALL_GREEN => &spec.green,
        Some(s) => {
            return Err(refused(
                Refusal::SplitCollapse,
                format!("{label} still splits traffic ({s}, {}% blue): collapsing would move answers at once.", s.blue()),
            ))
        }
    };
    if !now.others.is_empty() {
        return Err(refused(
            Refusal::CollapseBesideOthers,
            format!("{label} has other record sets next to the pair; a simple record cannot be added beside them."),
        ));
    }
    Ok(Some(winner))
}

/// The switch as a traffic router for the engine. Each write's receipt is
/// the Route 53 change it submitted (with an empty id when a read-back found
/// the change already in place).
pub struct DnsRouter {
    /// The hosted zone holding the pair.
    pub zone: Arc<Zone>,
    /// The name, type and the two sides.
    pub spec: SwitchSpec,
    /// Whether and how long to wait for each change to be INSYNC.
    pub sync: SyncOptions,
}

#[async_trait]
impl TrafficRouter for DnsRouter {
    type Receipt = ChangeInfo;

    async fn observe(&self) -> Result<TrafficSplit> {
        let o =
            observe(&self.zone, &self.spec.name, &self.spec.record_type, &self.spec.blue.set_identifier, &self.spec.green.set_identifier)
                .await?;
        o.split().ok_or_else(|| Error::NotFound { what: crate::error::NotFoundKind::WeightedRecordPair, searched: self.spec.label() })
    }

    async fn submit(&self, split: TrafficSplit) -> Result<ChangeInfo> {
        write(&self.zone, &self.spec, split, None).await
    }

    async fn settle(&self, change: &ChangeInfo, stop: &CancellationToken) -> Result<()> {
        self.zone.wait_insync(change, self.sync, stop).await
    }
}

/// The pair as configured before an update.
#[derive(Debug, Clone)]
pub struct PriorPair {
    /// The set identifiers (blue, green) the records have now; a rename replaces them.
    pub ids: (String, String),
    /// Blue as configured before; `None` when its record was found gone.
    pub blue: Option<Side>,
    /// Green as configured before; `None` when its record was found gone.
    pub green: Option<Side>,
    /// The DNS failover guard as configured before (`None`: none, or not known, as after an import).
    pub failover: Option<DnsFailover>,
    /// The guard's health check as last seen on green's record.
    pub health_check_id: Option<String>,
}

/// The switch's lifecycle for [`crate::cutover`]: a create adopts an
/// existing simple record when `adopt`; a destroy goes as `on_destroy` says.
pub struct DnsCutover {
    /// The hosted zone to create the pair in.
    pub zone: Arc<Zone>,
    /// The name, type and the two sides.
    pub spec: SwitchSpec,
    /// Whether and how long to wait for each change to be INSYNC.
    pub sync: SyncOptions,
    /// Replace a simple record at the name that points where blue does, instead of refusing.
    pub adopt: bool,
    /// What a destroy leaves at the name.
    pub on_destroy: OnDestroy,
    /// Keep Route 53 health checks on these alarms on green's record (see [`crate::failover`]).
    pub failover: Option<DnsFailover>,
}

impl DnsCutover {
    /// Deletes the guards in `ids` but `keep` (each once; only those this provider made). A failure leaves a
    /// health check behind, not traffic elsewhere: it is logged, not returned.
    async fn drop_guards(&self, ids: &[Option<String>], keep: Option<&str>) {
        let mut done: Vec<&str> = Vec::new();
        for id in ids.iter().flatten() {
            if Some(id.as_str()) == keep || done.contains(&id.as_str()) {
                continue;
            }
            done.push(id);
            if let Err(e) = failover::delete(self.zone.api(), id).await {
                tracing::warn!(health_check = %id, error = %e, "could not delete the DNS failover health check {id}: {e}");
            }
        }
    }

    /// The guard green's record is to carry, from `prior` and what is `attached` now: the one in place when it
    /// still is the guard configured, else a new one (`built`). `None` without a guard.
    async fn guard(&self, prior: &PriorPair, attached: Option<&String>) -> Result<(Option<String>, bool)> {
        let Some(want) = &self.failover else { return Ok((None, false)) };
        let candidate = match &prior.failover {
            // Configured as before: the check the last apply made, if the record still carries it.
            Some(before) if before == want => prior.health_check_id.as_ref().filter(|id| Some(*id) == attached),
            // Configured differently: a new one.
            Some(_) => None,
            // Not known how it was made (an import): what the record carries, if it is the guard configured.
            None => attached,
        };
        if let Some(id) = candidate {
            if failover::holds(self.zone.api(), id, want).await? {
                return Ok((Some(id.clone()), false));
            }
        }
        Ok((Some(failover::create(self.zone.api(), want).await?), true))
    }
}

#[async_trait]
impl Cutover for DnsCutover {
    type Router = DnsRouter;
    type Made = Created;
    type Prior = PriorPair;

    /// With a failover guard, its health checks are created first and green's record carries them from the start;
    /// a create that fails deletes them again.
    async fn make(&self, split: TrafficSplit) -> Result<Created> {
        let guard = match &self.failover {
            Some(want) => Some(failover::create(self.zone.api(), want).await?),
            None => None,
        };
        let spec = SwitchSpec { green_health_check_id: guard.clone(), ..self.spec.clone() };
        let created = create(&self.zone, &spec, split, self.adopt).await;
        if created.is_err() {
            self.drop_guards(&[guard], None).await;
        }
        created
    }

    async fn settle(&self, made: &Created, stop: &CancellationToken) -> Result<()> {
        self.zone.wait_insync(&made.change, self.sync, stop).await
    }

    fn router(&self, made: &Created) -> DnsRouter {
        let spec = SwitchSpec { green_health_check_id: made.health_check_id.clone(), ..self.spec.clone() };
        DnsRouter { zone: self.zone.clone(), spec, sync: self.sync }
    }

    /// Both records are written again at the split in effect when a side's
    /// identifier or target changed, a side is missing, or green's record
    /// does not carry the failover guard configured (a guard built anew is
    /// attached in the same batch, and the one it replaces deleted after it);
    /// otherwise nothing is written (the change id is then empty).
    async fn reconcile(&self, prior: &PriorPair) -> Reconciled<Created> {
        let (b, g) = (prior.ids.0.as_str(), prior.ids.1.as_str());
        let observed = match observe(&self.zone, &self.spec.name, &self.spec.record_type, b, g).await {
            Ok(o) => o,
            Err(e) => return Reconciled::Unread(e),
        };
        let at = observed.split().unwrap_or(TrafficSplit::ALL_BLUE);
        let attached = observed.green.as_ref().and_then(|r| r.health_check_id.clone());
        let unchanged = |health_check_id: Option<String>| Created {
            change: ChangeInfo { id: String::new(), status: ChangeStatus::InSync },
            adopted: false,
            health_check_id,
        };
        let (guard, built) = match self.guard(prior, attached.as_ref()).await {
            Ok(g) => g,
            Err(error) => return Reconciled::Failed { at, in_place: unchanged(attached), error },
        };
        let replaced = [attached.clone(), prior.health_check_id.clone()];
        let in_line = prior.blue.as_ref() == Some(&self.spec.blue)
            && prior.green.as_ref() == Some(&self.spec.green)
            && observed.blue.is_some()
            && observed.green.is_some()
            && attached == guard;
        if in_line {
            self.drop_guards(&replaced, guard.as_deref()).await;
            return Reconciled::Done { at, made: unchanged(guard) };
        }
        let spec = SwitchSpec { green_health_check_id: guard.clone(), ..self.spec.clone() };
        match write(&self.zone, &spec, at, Some((b, g))).await {
            Ok(change) => {
                self.drop_guards(&replaced, guard.as_deref()).await;
                Reconciled::Done { at, made: Created { change, adopted: false, health_check_id: guard } }
            }
            Err(error) => {
                if built {
                    self.drop_guards(&[guard], None).await;
                }
                Reconciled::Failed { at, in_place: unchanged(attached), error }
            }
        }
    }

    async fn unmake(&self, made: &Created) -> Result<()> {
        undo_create(&self.zone, &self.spec, made.adopted).await?;
        self.drop_guards(std::slice::from_ref(&made.health_check_id), None).await;
        Ok(())
    }

    async fn check_destroy(&self) -> Result<()> {
        check_destroy(&self.zone, &self.spec, self.on_destroy).await
    }

    /// The failover guard goes after the record change that drops it.
    async fn destroy(&self, stop: &CancellationToken) -> Result<Destroyed> {
        let (b, g) = (&self.spec.blue.set_identifier, &self.spec.green.set_identifier);
        let attached = observe(&self.zone, &self.spec.name, &self.spec.record_type, b, g).await?.green.and_then(|r| r.health_check_id);
        let destroyed = destroy(&self.zone, &self.spec, self.on_destroy).await?;
        self.drop_guards(&[attached, self.spec.green_health_check_id.clone()], None).await;
        Ok(match destroyed {
            // The change is accepted; only the wait may fail. The records are gone either way.
            Some(change) => Destroyed { unconfirmed: self.zone.wait_insync(&change, self.sync, stop).await.err() },
            None => Destroyed::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::route53::ChangeStatus;
    use crate::engine::{shift, OnGateFailure, ShiftOutcome, ShiftPlan};
    use crate::error::AwsErrorKind;
    use crate::gate::{AwsGateProbe, HealthGate};
    use crate::rollout::Rollout;
    use crate::testing::{FakeElbv2, FakeRoute53, Fault};
    use crate::zone::Zones;
    use std::time::Duration;

    const Z: &str = "ZFAKE1";
    const OLD_ALB: &str = "legacy-1.us-east-1.elb.amazonaws.com.";
    const NEW_ALB: &str = "ecs-1.us-east-1.elb.amazonaws.com.";

    #[test]
    fn one_destination_rule_names_without_case_addresses_as_addresses_values_as_a_set() {
        let records = |values: &[&str]| Target::Records { values: values.iter().map(|v| v.to_string()).collect(), ttl: 60 };
        assert!(records(&["2001:DB8::1", "203.0.113.10"]).same_destination_as(&records(&["203.0.113.10", "2001:db8:0::1"])));
        assert!(records(&["App.Example.NET"]).same_destination_as(&records(&["app.example.net."])));
        assert!(!records(&["203.0.113.10"]).same_destination_as(&records(&["203.0.113.11"])));
        assert!(alias("Legacy-1.US-East-1.ELB.amazonaws.com").same_destination_as(&alias(OLD_ALB)));
        assert!(!alias(OLD_ALB).same_destination_as(&alias(NEW_ALB)));
        assert!(!alias(OLD_ALB).same_destination_as(&records(&[OLD_ALB])), "an alias is not a CNAME value");
        let mut ttl_aside = records(&["203.0.113.10"]);
        if let Target::Records { ttl, .. } = &mut ttl_aside {
            *ttl = 300;
        }
        assert!(ttl_aside.same_destination_as(&records(&["203.0.113.10"])));
    }

    fn alias(name: &str) -> Target {
        Target::Alias(AliasTarget { dns_name: name.into(), hosted_zone_id: "Z35SXDOTRQ7X7K".into(), evaluate_target_health: true })
    }

    fn spec() -> SwitchSpec {
        SwitchSpec {
            name: "api.example.com.".into(),
            record_type: RecordType::A,
            blue: Side { set_identifier: "blue".into(), target: alias(OLD_ALB) },
            green: Side { set_identifier: "green".into(), target: alias(NEW_ALB) },
            green_health_check_id: None,
        }
    }

    fn setup() -> (Arc<FakeRoute53>, Arc<Zone>) {
        let fake = Arc::new(FakeRoute53::new());
        fake.add_zone(Z, "example.com");
        let zones = Zones::new(fake.clone());
        (fake, zones.zone(Z))
    }

    fn legacy_simple(target: &str) -> RecordSet {
        spec().simple(&Side { set_identifier: String::new(), target: alias(target) })
    }

    fn t(p: u8) -> TrafficSplit {
        TrafficSplit::green_percent(p).unwrap()
    }

    async fn split_now(zone: &Zone) -> Option<TrafficSplit> {
        observe(zone, "api.example.com", &RecordType::A, "blue", "green").await.unwrap().split()
    }

    #[tokio::test]
    async fn adopt_replaces_the_simple_record_in_one_batch() {
        let (fake, zone) = setup();
        fake.put(Z, legacy_simple(OLD_ALB));
        create(&zone, &spec(), t(0), true).await.unwrap();
        let batches = fake.batches();
        assert_eq!(batches.len(), 1, "one atomic batch");
        let actions: Vec<ChangeAction> = batches[0].iter().map(|c| c.action).collect();
        assert_eq!(actions, [ChangeAction::Delete, ChangeAction::Create, ChangeAction::Create]);
        assert_eq!(batches[0][0].record, legacy_simple(OLD_ALB), "deletes exactly what was there");
        assert_eq!(split_now(&zone).await, Some(t(0)));
        assert_eq!(fake.records(Z).len(), 2);
    }

    #[tokio::test]
    async fn adopt_refuses_a_record_that_points_elsewhere() {
        let (fake, zone) = setup();
        fake.put(Z, legacy_simple("somewhere-else.example.net."));
        let e = create(&zone, &spec(), t(0), true).await.unwrap_err().to_string();
        assert!(e.contains("points to alias somewhere-else.example.net") && e.contains("Nothing was changed"), "{e}");
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 0);
        assert_eq!(fake.records(Z), vec![legacy_simple("somewhere-else.example.net.")]);
    }

    #[tokio::test]
    async fn an_existing_record_without_adopt_is_an_error_naming_the_way_out() {
        let (fake, zone) = setup();
        fake.put(Z, legacy_simple(OLD_ALB));
        let e = create(&zone, &spec(), t(0), false).await.unwrap_err().to_string();
        assert!(e.starts_with("Record already exists: ") && e.contains("already exists as a simple record"), "{e}");
        assert!(!e.contains("adopt_existing"), "the way out is the caller's to say: {e}");
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 0);
    }

    #[tokio::test]
    async fn weighted_records_are_never_taken_over() {
        let (fake, zone) = setup();
        // A foreign weighted record with our set identifier.
        fake.put(Z, spec().weighted(&Side { set_identifier: "blue".into(), target: alias("foreign.example.net.") }, 1));
        let e = create(&zone, &spec(), t(0), true).await.unwrap_err();
        assert!(
            matches!(&e, Error::Refused { kind: Refusal::WeightedRecordExists, set_identifiers: Some((b, g)), .. } if b == "blue" && g == "green"),
            "{e:?}"
        );
        assert!(e.to_string().contains("set_identifier \"blue\""), "{e}");
        // A foreign weighted record with another identifier.
        let (fake, zone) = setup();
        fake.put(Z, spec().weighted(&Side { set_identifier: "canary".into(), target: alias("foreign.example.net.") }, 1));
        let e = create(&zone, &spec(), t(0), true).await.unwrap_err().to_string();
        assert!(e.contains("weighted set \"canary\"") && e.contains("does not own"), "{e}");
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 0);
    }

    #[tokio::test]
    async fn write_moves_weights_in_one_upsert_batch() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(0), false).await.unwrap();
        write(&zone, &spec(), t(30), None).await.unwrap();
        assert_eq!(split_now(&zone).await, Some(t(30)));
        let last = fake.batches().pop().unwrap();
        assert!(last.iter().all(|c| c.action == ChangeAction::Upsert) && last.len() == 2);
        let weights: Vec<Routing> = fake.records(Z).into_iter().map(|r| r.routing).collect();
        assert_eq!(
            weights,
            [
                Routing::Weighted { set_identifier: "blue".into(), weight: 70 },
                Routing::Weighted { set_identifier: "green".into(), weight: 30 }
            ]
        );
    }

    #[tokio::test]
    async fn renamed_set_identifiers_move_in_the_same_batch() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(40), false).await.unwrap();
        let mut renamed = spec();
        renamed.green.set_identifier = "ecs".into();
        write(&zone, &renamed, t(40), Some(("blue", "green"))).await.unwrap();
        let ids: Vec<String> = fake.records(Z).iter().map(|r| r.set_identifier().unwrap().to_string()).collect();
        assert_eq!(ids, ["blue", "ecs"]);
        assert_eq!(fake.batches().len(), 2);
    }

    #[tokio::test]
    async fn collapse_leaves_one_simple_record_for_the_side_at_100() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(100), false).await.unwrap();
        destroy(&zone, &spec(), OnDestroy::Collapse).await.unwrap();
        assert_eq!(fake.records(Z), vec![spec().simple(&spec().green)]);
        assert_eq!(fake.batches().len(), 2, "create + one collapse batch");
    }

    #[tokio::test]
    async fn collapse_is_refused_while_split() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(50), false).await.unwrap();
        let e = destroy(&zone, &spec(), OnDestroy::Collapse).await.unwrap_err().to_string();
        assert!(
            e.starts_with("Destroy refused while traffic is split: ") && e.contains("still splits traffic (50% green, 50% blue)"),
            "{e}"
        );
        assert_eq!(fake.records(Z).len(), 2, "nothing removed");
        destroy(&zone, &spec(), OnDestroy::Delete).await.unwrap();
        assert!(fake.records(Z).is_empty());
    }

    #[tokio::test]
    async fn an_ambiguous_failure_that_landed_is_read_back_not_repeated() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(0), false).await.unwrap();
        fake.fault("ChangeResourceRecordSets", Fault::ApplyThenFail);
        write(&zone, &spec(), t(50), None).await.unwrap();
        assert_eq!(split_now(&zone).await, Some(t(50)));
        assert_eq!(fake.batches().len(), 2, "applied once, not twice");
    }

    /// Two switches of one apply on one name (spelled differently): both read
    /// an empty name, both send CREATE. The second's refusal is definite, so
    /// it must not take over the records the first wrote.
    #[tokio::test]
    async fn a_second_create_on_the_same_name_is_refused_not_taken_over() {
        let (fake, zone) = setup();
        let (first, second) = (spec(), canonical(SwitchSpec { name: "API.example.com.".into(), ..spec() }));
        let (a, b) = tokio::join!(create(&zone, &first, t(0), false), create(&zone, &second, t(0), false));
        let mut results = [a.map(|_| ()), b.map(|_| ())];
        results.sort_by_key(|r| r.is_err());
        assert!(results[0].is_ok(), "one create succeeds");
        let e = results[1].as_ref().unwrap_err();
        assert!(matches!(e, Error::Refused { kind: Refusal::WeightedRecordExists, .. }) && e.to_string().contains("another writer"), "{e}");
        assert_eq!(fake.records(Z).len(), 2, "one pair, written once");
    }

    fn canonical(mut s: SwitchSpec) -> SwitchSpec {
        s.name = crate::dns::canonical_name(&s.name);
        s
    }

    #[tokio::test]
    async fn an_ambiguous_failure_that_did_not_land_is_an_error() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(0), false).await.unwrap();
        fake.fault("ChangeResourceRecordSets", Fault::Fail(AwsErrorKind::Ambiguous, "InternalFailure"));
        assert!(write(&zone, &spec(), t(50), None).await.is_err());
        assert_eq!(split_now(&zone).await, Some(t(0)));
    }

    #[tokio::test(start_paused = true)]
    async fn prior_request_not_complete_is_retried_with_backoff() {
        // The pacer every provider process puts in front of Route 53 retries it.
        use crate::aws::paced::PacedRoute53;
        use crate::aws::retry::{Limiter, Pacer, RetryPolicy};
        let fake = Arc::new(FakeRoute53::new());
        fake.add_zone(Z, "example.com");
        let pacer = Arc::new(Pacer::new("Route 53", "fake".into(), Limiter::new(5.0, 5), RetryPolicy::default(), CancellationToken::new()));
        let zone = Zones::new(Arc::new(PacedRoute53::new(fake.clone(), pacer))).zone(Z);
        create(&zone, &spec(), t(0), false).await.unwrap();
        fake.fault("ChangeResourceRecordSets", Fault::Fail(AwsErrorKind::PriorRequestNotComplete, "PriorRequestNotComplete"));
        fake.fault("ChangeResourceRecordSets", Fault::Fail(AwsErrorKind::PriorRequestNotComplete, "PriorRequestNotComplete"));
        write(&zone, &spec(), t(10), None).await.unwrap();
        assert_eq!(fake.calls("ChangeResourceRecordSets"), 4);
        assert_eq!(split_now(&zone).await, Some(t(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn insync_wait_polls_with_backoff_and_is_bounded() {
        let (fake, zone) = setup();
        let change = ChangeInfo { id: "C1".into(), status: ChangeStatus::Pending };
        fake.pending_polls(3);
        let start = tokio::time::Instant::now();
        zone.wait_insync(&change, SyncOptions::default(), &CancellationToken::new()).await.unwrap();
        assert_eq!(fake.calls("GetChange"), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(1 + 2 + 4 + 8));
        // Known INSYNC now: no more polling for this id.
        zone.wait_insync(&change, SyncOptions::default(), &CancellationToken::new()).await.unwrap();
        assert_eq!(fake.calls("GetChange"), 4);
        fake.pending_polls(1000);
        let other = ChangeInfo { id: "C2".into(), status: ChangeStatus::Pending };
        let e = zone
            .wait_insync(&other, SyncOptions { wait: true, timeout: Duration::from_secs(60) }, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not INSYNC after 1m"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_gated_rollout_over_route53_rolls_back_on_an_empty_target_group() {
        let (fake, zone) = setup();
        create(&zone, &spec(), t(0), false).await.unwrap();
        let elb = Arc::new(FakeElbv2::default());
        elb.set_health("tg-ecs", vec![]);
        let probe = AwsGateProbe::with(
            elb.clone(),
            crate::aws::watch::CloudWatchReader::new(std::sync::Arc::new(crate::testing::FakeCloudWatch::default())),
        );
        let router = DnsRouter { zone: zone.clone(), spec: spec(), sync: SyncOptions::default() };
        let plan = ShiftPlan {
            from: t(0),
            to: t(100),
            rollout: Some(Rollout { steps: vec![10, 50], bake: Duration::from_secs(120) }),
            gate: Some(HealthGate { target_group_arns: vec!["tg-ecs".into()], ..HealthGate::default() }),
            on_gate_failure: OnGateFailure::Rollback,
            gate_already_passed: false,
            observed_traffic: None,
            clock: Default::default(),
        };
        let report = shift(&router, &probe, &plan, &CancellationToken::new()).await;
        assert!(matches!(report.outcome, ShiftOutcome::GateBlocked(_)), "{report:?}");
        assert_eq!(fake.batches().len(), 1, "nothing beyond the create");

        // Healthy now: the rollout walks 10, 50, 100 and records each change id.
        elb.set_health("tg-ecs", vec!["healthy", "healthy"]);
        fake.pending_polls(2);
        let report = shift(&router, &probe, &plan, &CancellationToken::new()).await;
        assert!(report.reached(), "{report:?}");
        assert_eq!(split_now(&zone).await, Some(t(100)));
        assert_eq!(fake.batches().len(), 4);
        let ids: Vec<&str> = report.writes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["C0002", "C0003", "C0004"]);
    }

    fn guarded(fake: &Arc<FakeRoute53>, zone: &Arc<Zone>, alarms: &[&str]) -> DnsCutover {
        let _ = fake;
        let alarms: Vec<String> = alarms.iter().map(|a| a.to_string()).collect();
        DnsCutover {
            zone: zone.clone(),
            spec: spec(),
            sync: SyncOptions::default(),
            adopt: true,
            on_destroy: OnDestroy::Collapse,
            failover: DnsFailover::new("us-east-1", &alarms, false),
        }
    }

    fn green_check(fake: &FakeRoute53) -> Option<String> {
        fake.records(Z).into_iter().find(|r| r.set_identifier() == Some("green")).and_then(|r| r.health_check_id)
    }

    fn prior(c: &DnsCutover, made: &Created) -> PriorPair {
        PriorPair {
            ids: ("blue".into(), "green".into()),
            blue: Some(c.spec.blue.clone()),
            green: Some(c.spec.green.clone()),
            failover: c.failover.clone(),
            health_check_id: made.health_check_id.clone(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_failover_guard_rides_on_green_only_and_follows_the_setting() {
        let (fake, zone) = setup();
        fake.put(Z, legacy_simple(OLD_ALB));
        let c = guarded(&fake, &zone, &["green-5xx", "green-latency"]);
        // Created before the batch that references it; the batch is the one atomic adopt.
        let made = c.make(t(0)).await.unwrap();
        let id = made.health_check_id.clone().expect("a guard");
        assert_eq!(fake.batches().len(), 1);
        assert_eq!(green_check(&fake), Some(id.clone()));
        assert!(fake.records(Z).iter().filter(|r| r.set_identifier() == Some("blue")).all(|r| r.health_check_id.is_none()));
        assert_eq!(fake.health_checks().len(), 3, "two alarms and their parent");
        // Shifts keep it on green's record.
        c.router(&made).submit(t(40)).await.unwrap();
        assert_eq!(green_check(&fake), Some(id.clone()));

        // Unchanged: no write, the same check.
        let Reconciled::Done { made: same, .. } = c.reconcile(&prior(&c, &made)).await else { panic!() };
        assert_eq!(same.health_check_id, Some(id.clone()));
        assert!(same.change.id.is_empty(), "nothing written");

        // Changed alarms: a new guard, attached in one batch, the old one deleted after it.
        let c2 = guarded(&fake, &zone, &["green-5xx"]);
        let Reconciled::Done { made: changed, at } = c2.reconcile(&prior(&c, &made)).await else { panic!() };
        assert_eq!(at, t(40));
        let new_id = changed.health_check_id.clone().unwrap();
        assert_ne!(new_id, id);
        assert_eq!(green_check(&fake), Some(new_id.clone()));
        assert_eq!(fake.health_checks().keys().collect::<Vec<_>>(), [&new_id], "the old guard is gone");

        // Removed: detached, then deleted.
        let off = DnsCutover { failover: None, ..guarded(&fake, &zone, &[]) };
        let Reconciled::Done { made: removed, .. } = off.reconcile(&prior(&c2, &changed)).await else { panic!() };
        assert_eq!((removed.health_check_id.clone(), green_check(&fake)), (None, None));
        assert!(fake.health_checks().is_empty());

        // Re-added, then deleted outside: the next reconcile builds it again.
        let Reconciled::Done { made: again, .. } = c2.reconcile(&prior(&off, &removed)).await else { panic!() };
        let again_id = again.health_check_id.clone().unwrap();
        assert_eq!(green_check(&fake), Some(again_id.clone()));
        fake.remove_health_check(&again_id);
        let Reconciled::Done { made: repaired, .. } = c2.reconcile(&prior(&c2, &again)).await else { panic!() };
        let repaired_id = repaired.health_check_id.clone().unwrap();
        assert_ne!(repaired_id, again_id);
        assert_eq!(green_check(&fake), Some(repaired_id.clone()));
        assert_eq!(fake.health_checks().len(), 1);

        // Detached outside: attached again (a new guard; the stray one deleted).
        let mut bare = fake.records(Z).into_iter().find(|r| r.set_identifier() == Some("green")).unwrap();
        bare.health_check_id = None;
        fake.put(Z, bare);
        let zone2 = Zones::new(fake.clone()).zone(Z);
        let c3 = DnsCutover { zone: zone2.clone(), ..guarded(&fake, &zone2, &["green-5xx"]) };
        let Reconciled::Done { made: reattached, .. } = c3.reconcile(&prior(&c2, &repaired)).await else { panic!() };
        assert_eq!(green_check(&fake), reattached.health_check_id.clone());
        assert!(reattached.health_check_id.is_some());
        assert_eq!(fake.health_checks().len(), 1, "the detached one is deleted");

        // Collapse at 100 %: one simple record, no health check left.
        c3.router(&reattached).submit(t(100)).await.unwrap();
        c3.destroy(&CancellationToken::new()).await.unwrap();
        assert_eq!(fake.records(Z), vec![spec().simple(&spec().green)]);
        assert!(fake.health_checks().is_empty());
    }

    #[tokio::test]
    async fn a_create_that_fails_deletes_the_guard_it_made_and_an_imported_guard_is_kept() {
        let (fake, zone) = setup();
        fake.put(Z, legacy_simple("somewhere-else.example.net."));
        let c = guarded(&fake, &zone, &["a"]);
        assert!(c.make(t(0)).await.is_err());
        assert!(fake.health_checks().is_empty());

        let (fake, zone) = setup();
        let c = guarded(&fake, &zone, &["a"]);
        let made = c.make(t(0)).await.unwrap();
        // After an import the prior configuration is not known: the guard on the record is kept when it is the one
        // configured.
        let imported = PriorPair { failover: None, ..prior(&c, &made) };
        let Reconciled::Done { made: kept, .. } = c.reconcile(&imported).await else { panic!() };
        assert_eq!(kept.health_check_id, made.health_check_id);
        assert_eq!(fake.calls("CreateHealthCheck"), 1);
    }
}
