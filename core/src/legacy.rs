//! Read-only lookups of the legacy stack (zones, load balancers, listeners,
//! target groups, records). The provider exposes them as data sources; the
//! cutover resources never manage these objects.

use std::collections::BTreeMap;

use crate::aws::elbv2::{Elbv2Api, Listener, ListenerSelector, LoadBalancer, Selector, TargetGroup};
use crate::aws::route53::{HostedZone, RecordSet, RecordType, Route53Api};
use crate::dns::{bare_id, canonical_name, display_name};
use crate::error::{AwsErrorKind, Error, NotFoundKind, Result};
use crate::zone::Zone;

/// How a hosted zone is identified.
#[derive(Debug, Clone)]
pub enum ZoneQuery {
    /// By id (bare or `/hostedzone/`-prefixed).
    Id(String),
    /// By domain name and whether it is a private zone.
    Name {
        /// The zone's domain name.
        name: String,
        /// A private (VPC) zone rather than a public one.
        private: bool,
    },
}

/// Finds exactly one hosted zone; not found or ambiguous is an error.
pub async fn hosted_zone(api: &dyn Route53Api, query: &ZoneQuery) -> Result<HostedZone> {
    match query {
        ZoneQuery::Id(id) => api.get_hosted_zone(bare_id(id)).await.map_err(|e| match e.kind {
            AwsErrorKind::NotFound => Error::NotFound { what: NotFoundKind::HostedZone, searched: format!("zone_id = {id:?}") },
            _ => e.into(),
        }),
        ZoneQuery::Name { name, private } => {
            let wanted = canonical_name(name);
            // The listing is sorted by name, so every zone of this name is in
            // the first page unless there are more than 100 of them.
            let zones = api.list_hosted_zones_by_name(&wanted, 100).await?;
            let matching: Vec<HostedZone> = zones.into_iter().filter(|z| z.name == wanted && z.private == *private).collect();
            let searched = format!("{} zone named {:?}", if *private { "private" } else { "public" }, display_name(name));
            match matching.len() {
                0 => Err(Error::NotFound { what: NotFoundKind::HostedZone, searched }),
                1 => Ok(matching.into_iter().next().expect("one element")),
                _ => Err(Error::Ambiguous {
                    what: NotFoundKind::HostedZone,
                    searched,
                    candidates: matching.iter().map(|z| z.id.as_str()).collect::<Vec<_>>().join(", "),
                }),
            }
        }
    }
}

/// A load balancer with the ARNs of its listeners.
#[derive(Debug, Clone)]
pub struct LoadBalancerInfo {
    /// The load balancer.
    pub load_balancer: LoadBalancer,
    /// Its listeners' ARNs, sorted.
    pub listener_arns: Vec<String>,
}

fn not_found_as(what: NotFoundKind, searched: String) -> impl FnOnce(crate::AwsError) -> Error {
    move |e| match e.kind {
        AwsErrorKind::NotFound => Error::NotFound { what, searched },
        _ => e.into(),
    }
}

fn exactly_one<T>(what: NotFoundKind, searched: String, mut found: Vec<T>, id: impl Fn(&T) -> String) -> Result<T> {
    match found.len() {
        0 => Err(Error::NotFound { what, searched }),
        1 => Ok(found.remove(0)),
        _ => Err(Error::Ambiguous { what, searched, candidates: found.iter().map(id).collect::<Vec<_>>().join(", ") }),
    }
}

fn describe(by: &Selector) -> String {
    match by {
        Selector::Names(n) => format!("name = {:?}", n.join(",")),
        Selector::Arns(a) => format!("arn = {:?}", a.join(",")),
    }
}

/// Finds exactly one load balancer, with its listeners.
pub async fn load_balancer(api: &dyn Elbv2Api, by: &Selector) -> Result<LoadBalancerInfo> {
    let searched = describe(by);
    let found = api.describe_load_balancers(by).await.map_err(not_found_as(NotFoundKind::LoadBalancer, searched.clone()))?;
    let lb = exactly_one(NotFoundKind::LoadBalancer, searched, found, |l| l.arn.clone())?;
    let listeners = api.describe_listeners(&ListenerSelector::LoadBalancer(lb.arn.clone())).await?;
    let mut listener_arns: Vec<String> = listeners.into_iter().map(|l| l.arn).collect();
    listener_arns.sort();
    Ok(LoadBalancerInfo { load_balancer: lb, listener_arns })
}

#[derive(Debug, Clone)]
/// How a listener is identified.
pub enum ListenerQuery {
    /// By ARN.
    Arn(String),
    /// By the load balancer and the port it listens on.
    Port {
        /// The load balancer's ARN.
        load_balancer_arn: String,
        /// The listener's port.
        port: i32,
    },
}

/// Finds exactly one listener.
pub async fn listener(api: &dyn Elbv2Api, query: &ListenerQuery) -> Result<Listener> {
    match query {
        ListenerQuery::Arn(arn) => {
            let searched = format!("arn = {arn:?}");
            let found = api
                .describe_listeners(&ListenerSelector::Arns(vec![arn.clone()]))
                .await
                .map_err(not_found_as(NotFoundKind::Listener, searched.clone()))?;
            exactly_one(NotFoundKind::Listener, searched, found, |l| l.arn.clone())
        }
        ListenerQuery::Port { load_balancer_arn, port } => {
            let searched = format!("port {port} on load balancer {load_balancer_arn:?}");
            let found = api
                .describe_listeners(&ListenerSelector::LoadBalancer(load_balancer_arn.clone()))
                .await
                .map_err(not_found_as(NotFoundKind::LoadBalancer, format!("arn = {load_balancer_arn:?}")))?;
            let found: Vec<Listener> = found.into_iter().filter(|l| l.port == Some(*port)).collect();
            exactly_one(NotFoundKind::Listener, searched, found, |l| l.arn.clone())
        }
    }
}

/// A target group with the live health of its targets.
#[derive(Debug, Clone)]
pub struct TargetGroupInfo {
    /// The target group.
    pub target_group: TargetGroup,
    /// Its targets' health now.
    pub health: HealthCounts,
}

/// Targets counted by health state. Every state AWS reports lands in
/// `by_state`; `healthy + unhealthy + in_transition == total`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCounts {
    /// Targets in state `healthy`.
    pub healthy: u32,
    /// `unhealthy`, `unhealthy.draining` and `unavailable`.
    pub unhealthy: u32,
    /// `initial`, `draining`, `unused` and anything else.
    pub in_transition: u32,
    /// All targets.
    pub total: u32,
    /// Targets per state, as AWS spells the states.
    pub by_state: BTreeMap<String, u32>,
}

impl HealthCounts {
    /// Counts targets from their health states as AWS reports them.
    pub fn from_states<'a>(states: impl IntoIterator<Item = &'a str>) -> Self {
        let mut c = HealthCounts::default();
        for s in states {
            *c.by_state.entry(s.to_string()).or_default() += 1;
            c.total += 1;
            match s {
                "healthy" => c.healthy += 1,
                "unhealthy" | "unhealthy.draining" | "unavailable" => c.unhealthy += 1,
                _ => c.in_transition += 1,
            }
        }
        c
    }
}

/// The health of the target group's targets now.
pub async fn target_group_health(api: &dyn Elbv2Api, arn: &str) -> Result<HealthCounts> {
    let health = api.describe_target_health(arn).await.map_err(not_found_as(NotFoundKind::TargetGroup, format!("arn = {arn:?}")))?;
    Ok(HealthCounts::from_states(health.iter().map(|h| h.state.as_str())))
}

/// Finds exactly one target group, with its targets' health.
pub async fn target_group(api: &dyn Elbv2Api, by: &Selector) -> Result<TargetGroupInfo> {
    let searched = describe(by);
    let found = api.describe_target_groups(by).await.map_err(not_found_as(NotFoundKind::TargetGroup, searched.clone()))?;
    let tg = exactly_one(NotFoundKind::TargetGroup, searched, found, |t| t.arn.clone())?;
    let health = target_group_health(api, &tg.arn).await?;
    Ok(TargetGroupInfo { target_group: tg, health })
}

#[derive(Debug, Clone)]
/// Which record to read.
pub struct RecordQuery {
    /// The hosted zone's id.
    pub zone_id: String,
    /// The record's name.
    pub name: String,
    /// The record's type.
    pub record_type: RecordType,
    /// The set identifier of a weighted (or other routed) record; `None`: the name must hold one record set.
    pub set_identifier: Option<String>,
}

/// Reads exactly one record set; not found or ambiguous is an error.
pub async fn record(zone: &Zone, q: &RecordQuery) -> Result<RecordSet> {
    let all = zone.record_sets(&q.name, &q.record_type).await?;
    let searched = match &q.set_identifier {
        Some(id) => format!("{} record {:?} with set_identifier {:?} in zone {}", q.record_type, display_name(&q.name), id, q.zone_id),
        None => format!("{} record {:?} in zone {}", q.record_type, display_name(&q.name), q.zone_id),
    };
    let found: Vec<RecordSet> = match &q.set_identifier {
        Some(id) => all.into_iter().filter(|r| r.set_identifier() == Some(id.as_str())).collect(),
        None => all,
    };
    exactly_one(NotFoundKind::Record, searched, found, |r| r.set_identifier().unwrap_or("(simple)").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_counts_account_for_every_state() {
        let c = HealthCounts::from_states(["healthy", "healthy", "unhealthy", "initial", "draining", "unavailable", "unused"]);
        assert_eq!(c.healthy, 2);
        assert_eq!(c.unhealthy, 2);
        assert_eq!(c.in_transition, 3);
        assert_eq!(c.total, 7);
        assert_eq!(c.healthy + c.unhealthy + c.in_transition, c.total);
        assert_eq!(c.by_state.values().sum::<u32>(), 7);
        assert_eq!(c.by_state["healthy"], 2);
    }
}
