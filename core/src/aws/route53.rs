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

/// What a `CLOUDWATCH_METRIC` health check reports while its alarm is in `INSUFFICIENT_DATA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsufficientDataHealth {
    /// Healthy.
    Healthy,
    /// Unhealthy.
    Unhealthy,
    /// What it reported the last time the alarm had enough data (healthy for a new check).
    LastKnownStatus,
}

impl InsufficientDataHealth {
    /// As Route 53 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            InsufficientDataHealth::Healthy => "Healthy",
            InsufficientDataHealth::Unhealthy => "Unhealthy",
            InsufficientDataHealth::LastKnownStatus => "LastKnownStatus",
        }
    }
}

/// The CloudWatch alarm a health check follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmIdentifier {
    /// The alarm's region, e.g. `eu-west-1`.
    pub region: String,
    /// The alarm's name.
    pub name: String,
}

/// A health check to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheckConfig {
    /// `CLOUDWATCH_METRIC`: healthy unless the alarm is in `ALARM` (and as `insufficient_data` says without data).
    Alarm {
        /// The alarm followed.
        alarm: AlarmIdentifier,
        /// How `INSUFFICIENT_DATA` counts.
        insufficient_data: InsufficientDataHealth,
    },
    /// `CALCULATED`: healthy while at least `threshold` of `children` are healthy.
    Calculated {
        /// The child health checks' ids.
        children: Vec<String>,
        /// How many children must be healthy.
        threshold: u32,
    },
}

/// What Route 53 reports of a health check's configuration. Fields some
/// servers leave out of their answers (LocalStack drops `AlarmIdentifier` and
/// `InsufficientDataHealthStatus`) are `None`: not reported, which is not
/// "different".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheckSeen {
    /// `CLOUDWATCH_METRIC`.
    Alarm {
        /// The alarm followed, when reported.
        alarm: Option<AlarmIdentifier>,
        /// How `INSUFFICIENT_DATA` counts, when reported.
        insufficient_data: Option<InsufficientDataHealth>,
    },
    /// `CALCULATED`.
    Calculated {
        /// The child health checks' ids.
        children: Vec<String>,
        /// How many children must be healthy.
        threshold: u32,
    },
    /// Any other type (`HTTP`, `TCP`, …), as Route 53 spells it.
    Other(String),
}

/// A health check as Route 53 holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Its id.
    pub id: String,
    /// The idempotency token it was created with.
    pub caller_reference: String,
    /// Its configuration.
    pub config: HealthCheckSeen,
}

impl HealthCheck {
    /// Whether Route 53's check is `want`, comparing every field Route 53 reported.
    pub fn is(&self, want: &HealthCheckConfig) -> bool {
        match (&self.config, want) {
            (HealthCheckSeen::Alarm { alarm, insufficient_data }, HealthCheckConfig::Alarm { alarm: a, insufficient_data: i }) => {
                alarm.as_ref().is_none_or(|x| x == a) && insufficient_data.is_none_or(|x| x == *i)
            }
            (HealthCheckSeen::Calculated { children, threshold }, HealthCheckConfig::Calculated { children: c, threshold: t }) => {
                let (mut x, mut y) = (children.clone(), c.clone());
                x.sort();
                y.sort();
                x == y && threshold == t
            }
            _ => false,
        }
    }
}

/// One page of the account's health checks.
#[derive(Debug, Clone, Default)]
pub struct HealthCheckPage {
    /// The health checks on this page.
    pub checks: Vec<HealthCheck>,
    /// Where the next page starts, if the listing was truncated.
    pub next_marker: Option<String>,
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
    /// Creates a health check. `caller_reference` is unique per creation: a
    /// retry with the same one returns the check the first attempt made.
    async fn create_health_check(&self, caller_reference: &str, config: &HealthCheckConfig) -> Result<HealthCheck, AwsError>;
    /// Up to `max_items` of the account's health checks, from `marker` on (one `ListHealthChecks` page).
    async fn list_health_checks(&self, marker: Option<&str>, max_items: i32) -> Result<HealthCheckPage, AwsError>;
    /// Deletes the health check with this id (`NotFound` when there is none).
    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError>;
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

fn health_check_from_sdk(op: &'static str, h: Option<&r53::types::HealthCheck>) -> Result<HealthCheck, AwsError> {
    let h = h.ok_or_else(|| missing(op, "HealthCheck"))?;
    // ListHealthChecks, not GetHealthCheck, reads checks back: LocalStack's GetHealthCheck leaves the children out.
    let c = h.health_check_config().ok_or_else(|| missing(op, "HealthCheckConfig"))?;
    let config = match c.r#type() {
        r53::types::HealthCheckType::CloudwatchMetric => HealthCheckSeen::Alarm {
            alarm: c.alarm_identifier().map(|a| AlarmIdentifier { region: a.region().as_str().to_string(), name: a.name().to_string() }),
            insufficient_data: c.insufficient_data_health_status().map(|s| match s {
                r53::types::InsufficientDataHealthStatus::Healthy => InsufficientDataHealth::Healthy,
                r53::types::InsufficientDataHealthStatus::Unhealthy => InsufficientDataHealth::Unhealthy,
                _ => InsufficientDataHealth::LastKnownStatus,
            }),
        },
        r53::types::HealthCheckType::Calculated => HealthCheckSeen::Calculated {
            children: c.child_health_checks().to_vec(),
            threshold: c.health_threshold().unwrap_or(0).max(0) as u32,
        },
        other => HealthCheckSeen::Other(other.as_str().to_string()),
    };
    Ok(HealthCheck { id: h.id().to_string(), caller_reference: h.caller_reference().to_string(), config })
}

fn health_check_to_sdk(op: &'static str, c: &HealthCheckConfig) -> Result<r53::types::HealthCheckConfig, AwsError> {
    let b = match c {
        HealthCheckConfig::Alarm { alarm, insufficient_data } => r53::types::HealthCheckConfig::builder()
            .r#type(r53::types::HealthCheckType::CloudwatchMetric)
            .alarm_identifier(
                r53::types::AlarmIdentifier::builder()
                    .region(r53::types::CloudWatchRegion::from(alarm.region.as_str()))
                    .name(&alarm.name)
                    .build()
                    .map_err(|e| build(op, e))?,
            )
            .insufficient_data_health_status(r53::types::InsufficientDataHealthStatus::from(insufficient_data.as_str())),
        HealthCheckConfig::Calculated { children, threshold } => r53::types::HealthCheckConfig::builder()
            .r#type(r53::types::HealthCheckType::Calculated)
            .set_child_health_checks(Some(children.clone()))
            .health_threshold(i32::try_from(*threshold).unwrap_or(i32::MAX)),
    };
    b.build().map_err(|e| build(op, e))
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

    async fn create_health_check(&self, caller_reference: &str, config: &HealthCheckConfig) -> Result<HealthCheck, AwsError> {
        const OP: &str = "CreateHealthCheck";
        let out = self
            .client
            .create_health_check()
            .caller_reference(caller_reference)
            .health_check_config(health_check_to_sdk(OP, config)?)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        health_check_from_sdk(OP, out.health_check())
    }

    async fn list_health_checks(&self, marker: Option<&str>, max_items: i32) -> Result<HealthCheckPage, AwsError> {
        const OP: &str = "ListHealthChecks";
        let out = self
            .client
            .list_health_checks()
            .set_marker(marker.map(str::to_string))
            .max_items(max_items)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let checks = out.health_checks().iter().map(|h| health_check_from_sdk(OP, Some(h))).collect::<Result<Vec<_>, _>>()?;
        let next_marker = if out.is_truncated() { out.next_marker().map(str::to_string) } else { None };
        Ok(HealthCheckPage { checks, next_marker })
    }

    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError> {
        const OP: &str = "DeleteHealthCheck";
        self.client.delete_health_check().health_check_id(id).send().await.map_err(|e| classify(OP, e))?;
        Ok(())
    }
}
