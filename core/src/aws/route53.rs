//! Route 53, reduced to what cutovers need, behind a trait so the engine can
//! be tested against a fake.

use async_trait::async_trait;
use aws_sdk_route53 as r53;

use super::sdk_error::{build, classify, missing};
use crate::dns::{bare_id, canonical_name};
use crate::error::AwsError;

/// Record types a switch may manage. Others are still read (and reported) so
/// that a name's full picture is known, but never written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address records.
    A,
    /// IPv6 address records.
    Aaaa,
    /// Canonical name records.
    Cname,
    /// Any other type, as Route 53 spells it (read only).
    Other(String),
}

impl RecordType {
    /// The type as Route 53 spells it, e.g. `AAAA`.
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Other(s) => s,
        }
    }

    /// The type named by `s`, in any case.
    pub fn parse(s: &str) -> RecordType {
        match s.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            other => RecordType::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// Where an alias record points: a load balancer, CloudFront distribution, another record, ….
pub struct AliasTarget {
    /// Canonical (lower case, trailing dot).
    pub dns_name: String,
    /// The hosted zone of the target (for an ALB: its canonical hosted zone id).
    pub hosted_zone_id: String,
    /// Whether Route 53 checks the target's health before answering with it.
    pub evaluate_target_health: bool,
}

/// How Route 53 chooses among record sets of one name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// One record set answers alone.
    Simple,
    /// Weighted routing: answers in proportion to `weight` among the name's weighted record sets.
    Weighted {
        /// Unique among the name and type's record sets.
        set_identifier: String,
        /// 0–255; a weight of 0 gets no answers unless every weight is 0.
        weight: u8,
    },
    /// Latency, failover, geolocation, multivalue…: never touched, reported
    /// by its policy name and identifier.
    Other {
        /// The policy, e.g. `failover`.
        policy: String,
        /// The record set's identifier.
        set_identifier: String,
    },
}

impl Routing {
    /// The set identifier, for any routing but simple.
    pub fn set_identifier(&self) -> Option<&str> {
        match self {
            Routing::Simple => None,
            Routing::Weighted { set_identifier, .. } | Routing::Other { set_identifier, .. } => Some(set_identifier),
        }
    }
}

/// One record set as Route 53 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// Canonical (lower case, trailing dot).
    pub name: String,
    /// Its type.
    pub record_type: RecordType,
    /// How Route 53 chooses it among the name's record sets.
    pub routing: Routing,
    /// Time to live in seconds; `None` for an alias.
    pub ttl: Option<i64>,
    /// The values answered with; empty for an alias.
    pub records: Vec<String>,
    /// The alias target, for an alias record.
    pub alias: Option<AliasTarget>,
    /// The health check the record is tied to, if any.
    pub health_check_id: Option<String>,
}

impl RecordSet {
    /// The set identifier, for any routing but simple.
    pub fn set_identifier(&self) -> Option<&str> {
        self.routing.set_identifier()
    }

    /// The key Route 53 identifies a record set by.
    pub fn key(&self) -> RecordKey {
        RecordKey {
            name: self.name.clone(),
            record_type: self.record_type.clone(),
            set_identifier: self.set_identifier().map(str::to_string),
        }
    }
}

/// Name, type and set identifier: what makes a record set unique in a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    /// Canonical (lower case, trailing dot).
    pub name: String,
    /// The record type.
    pub record_type: RecordType,
    /// `None` for a simple record.
    pub set_identifier: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What a change does to a record set.
pub enum ChangeAction {
    /// Create it; fails if it exists.
    Create,
    /// Delete it; the record set must match exactly.
    Delete,
    /// Create it, or replace it whole.
    Upsert,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// One change of a ChangeResourceRecordSets batch.
pub struct Change {
    /// What to do.
    pub action: ChangeAction,
    /// The record set to do it to.
    pub record: RecordSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Whether a change has reached all of Route 53's name servers.
pub enum ChangeStatus {
    /// Accepted, not yet on every name server.
    Pending,
    /// On every name server.
    InSync,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A submitted change batch: its id and status.
pub struct ChangeInfo {
    /// Bare id (no `/change/` prefix).
    pub id: String,
    /// Whether it is in effect everywhere yet.
    pub status: ChangeStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A hosted zone as `GetHostedZone` reports it.
pub struct HostedZone {
    /// Bare id (no `/hostedzone/` prefix).
    pub id: String,
    /// Canonical (lower case, trailing dot).
    pub name: String,
    /// A private (VPC) zone rather than a public one.
    pub private: bool,
    /// How many record sets it holds.
    pub record_count: i64,
}

/// Where a listing starts (inclusive), as Route 53's `StartRecord*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListStart {
    /// `StartRecordName`.
    pub name: Option<String>,
    /// `StartRecordType`.
    pub record_type: Option<RecordType>,
    /// `StartRecordIdentifier`.
    pub set_identifier: Option<String>,
}

#[derive(Debug, Clone, Default)]
/// One page of a record listing.
pub struct RecordPage {
    /// The record sets on this page, in Route 53's order.
    pub records: Vec<RecordSet>,
    /// Where the next page starts, if the listing was truncated.
    pub next: Option<ListStart>,
}

/// The Route 53 calls the engine makes. Implemented by [`SdkRoute53`] for AWS
/// and by fakes in tests.
#[async_trait]
pub trait Route53Api: Send + Sync {
    /// The zone with this bare id.
    async fn get_hosted_zone(&self, zone_id: &str) -> Result<HostedZone, AwsError>;
    /// Zones whose name sorts at or after `dns_name` (the API's own order); at
    /// most `max_items` of them.
    async fn list_hosted_zones_by_name(&self, dns_name: &str, max_items: i32) -> Result<Vec<HostedZone>, AwsError>;
    /// Up to `max_items` record sets from `start` on.
    async fn list_record_sets(&self, zone_id: &str, start: &ListStart, max_items: i32) -> Result<RecordPage, AwsError>;
    /// Submits one change batch atomically, with `comment`; returns the change to poll.
    async fn change_record_sets(&self, zone_id: &str, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError>;
    /// The change's status now.
    async fn get_change(&self, change_id: &str) -> Result<ChangeInfo, AwsError>;
}

/// [`Route53Api`] on the AWS SDK.
pub struct SdkRoute53 {
    client: r53::Client,
}

impl SdkRoute53 {
    /// Route 53 through `client`.
    pub fn new(client: r53::Client) -> Self {
        Self { client }
    }
}

fn zone_from_sdk(z: &r53::types::HostedZone) -> HostedZone {
    HostedZone {
        id: bare_id(z.id()).to_string(),
        name: canonical_name(z.name()),
        private: z.config().is_some_and(|c| c.private_zone()),
        record_count: z.resource_record_set_count().unwrap_or(0),
    }
}

fn change_from_sdk(op: &'static str, c: Option<&r53::types::ChangeInfo>) -> Result<ChangeInfo, AwsError> {
    let c = c.ok_or_else(|| missing(op, "ChangeInfo"))?;
    Ok(ChangeInfo {
        id: bare_id(c.id()).to_string(),
        status: if c.status() == &r53::types::ChangeStatus::Insync { ChangeStatus::InSync } else { ChangeStatus::Pending },
    })
}

fn record_from_sdk(r: &r53::types::ResourceRecordSet) -> RecordSet {
    let set_identifier = r.set_identifier().unwrap_or_default().to_string();
    let routing = if let Some(w) = r.weight() {
        Routing::Weighted { set_identifier, weight: w.clamp(0, 255) as u8 }
    } else if r.set_identifier().is_some() {
        let policy = if r.failover().is_some() {
            "failover"
        } else if r.region().is_some() {
            "latency"
        } else if r.geo_location().is_some() {
            "geolocation"
        } else if r.multi_value_answer().is_some() {
            "multivalue"
        } else if r.cidr_routing_config().is_some() {
            "ip-based"
        } else {
            "geoproximity"
        };
        Routing::Other { policy: policy.to_string(), set_identifier }
    } else {
        Routing::Simple
    };
    RecordSet {
        name: canonical_name(r.name()),
        record_type: RecordType::parse(r.r#type().as_str()),
        routing,
        ttl: r.ttl(),
        records: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
        alias: r.alias_target().map(|a| AliasTarget {
            dns_name: canonical_name(a.dns_name()),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: r.health_check_id().map(str::to_string),
    }
}

fn record_to_sdk(op: &'static str, r: &RecordSet) -> Result<r53::types::ResourceRecordSet, AwsError> {
    let mut b = r53::types::ResourceRecordSet::builder().name(&r.name).r#type(r53::types::RrType::from(r.record_type.as_str()));
    match &r.routing {
        Routing::Simple => {}
        Routing::Weighted { set_identifier, weight } => {
            b = b.set_identifier(set_identifier).weight(i64::from(*weight));
        }
        Routing::Other { policy, .. } => {
            return Err(AwsError::new(op, crate::AwsErrorKind::Invalid, format!("refusing to write a {policy} record set")));
        }
    }
    if let Some(alias) = &r.alias {
        b = b.alias_target(
            r53::types::AliasTarget::builder()
                .dns_name(&alias.dns_name)
                .hosted_zone_id(&alias.hosted_zone_id)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()
                .map_err(|e| build(op, e))?,
        );
    } else {
        b = b.set_ttl(r.ttl);
        for v in &r.records {
            b = b.resource_records(r53::types::ResourceRecord::builder().value(v).build().map_err(|e| build(op, e))?);
        }
    }
    if let Some(hc) = &r.health_check_id {
        b = b.health_check_id(hc);
    }
    b.build().map_err(|e| build(op, e))
}

#[async_trait]
impl Route53Api for SdkRoute53 {
    async fn get_hosted_zone(&self, zone_id: &str) -> Result<HostedZone, AwsError> {
        const OP: &str = "GetHostedZone";
        let out = self.client.get_hosted_zone().id(bare_id(zone_id)).send().await.map_err(|e| classify(OP, e))?;
        out.hosted_zone().map(zone_from_sdk).ok_or_else(|| missing(OP, "HostedZone"))
    }

    async fn list_hosted_zones_by_name(&self, dns_name: &str, max_items: i32) -> Result<Vec<HostedZone>, AwsError> {
        const OP: &str = "ListHostedZonesByName";
        let out =
            self.client.list_hosted_zones_by_name().dns_name(dns_name).max_items(max_items).send().await.map_err(|e| classify(OP, e))?;
        Ok(out.hosted_zones().iter().map(zone_from_sdk).collect())
    }

    async fn list_record_sets(&self, zone_id: &str, start: &ListStart, max_items: i32) -> Result<RecordPage, AwsError> {
        const OP: &str = "ListResourceRecordSets";
        let mut req = self.client.list_resource_record_sets().hosted_zone_id(bare_id(zone_id)).max_items(max_items);
        if let Some(n) = &start.name {
            req = req.start_record_name(n);
        }
        if let Some(t) = &start.record_type {
            req = req.start_record_type(r53::types::RrType::from(t.as_str()));
        }
        if let Some(i) = &start.set_identifier {
            req = req.start_record_identifier(i);
        }
        let out = req.send().await.map_err(|e| classify(OP, e))?;
        let next = if out.is_truncated() {
            Some(ListStart {
                name: out.next_record_name().map(str::to_string),
                record_type: out.next_record_type().map(|t| RecordType::parse(t.as_str())),
                set_identifier: out.next_record_identifier().map(str::to_string),
            })
        } else {
            None
        };
        Ok(RecordPage { records: out.resource_record_sets().iter().map(record_from_sdk).collect(), next })
    }

    async fn change_record_sets(&self, zone_id: &str, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        const OP: &str = "ChangeResourceRecordSets";
        let mut batch = r53::types::ChangeBatch::builder().comment(comment);
        for c in changes {
            let action = match c.action {
                ChangeAction::Create => r53::types::ChangeAction::Create,
                ChangeAction::Delete => r53::types::ChangeAction::Delete,
                ChangeAction::Upsert => r53::types::ChangeAction::Upsert,
            };
            batch = batch.changes(
                r53::types::Change::builder()
                    .action(action)
                    .resource_record_set(record_to_sdk(OP, &c.record)?)
                    .build()
                    .map_err(|e| build(OP, e))?,
            );
        }
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(bare_id(zone_id))
            .change_batch(batch.build().map_err(|e| build(OP, e))?)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        change_from_sdk(OP, out.change_info())
    }

    async fn get_change(&self, change_id: &str) -> Result<ChangeInfo, AwsError> {
        const OP: &str = "GetChange";
        let out = self.client.get_change().id(bare_id(change_id)).send().await.map_err(|e| classify(OP, e))?;
        change_from_sdk(OP, out.change_info())
    }
}
