//! `bluegreen_record`: a Route 53 record set as it is today.

use async_trait::async_trait;
use bluegreen_core::aws::route53::{RecordType, Routing};
use bluegreen_core::dns::{check_name, display_name};
use bluegreen_core::legacy::{self, RecordQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;
use crate::data_source::DataSourceImpl;
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::Ctx;
use crate::typed::Val;

/// Reads a Route 53 record set as it is today — typically the legacy record (a simple alias to the old ALB)
/// that a `bluegreen_switch` will adopt. For a weighted or other routed name, pick one set with `set_identifier`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct RecordModel {
    /// Id of the hosted zone holding the record.
    #[schemars(regex(pattern = patterns::ZONE_ID), extend("x-pattern-hint" = "be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\""))]
    pub zone_id: Val<String>,
    /// The record's name, e.g. `api.example.com` (case and trailing dot do not matter).
    #[schemars(length(min = 1))]
    pub name: Val<String>,
    /// The record type.
    #[schemars(regex(pattern = "^(A|AAAA|CNAME|TXT|MX|NS|SOA|SRV|PTR|CAA|DS|NAPTR|SPF|HTTPS|SVCB|TLSA|SSHFP)$"), extend("x-pattern-hint" = "be a Route 53 record type in upper case, such as \"A\", \"AAAA\" or \"CNAME\""))]
    pub r#type: Val<String>,
    /// Which record set of a weighted (or otherwise routed) name to read. Leave unset for a simple record.
    #[serde(default)]
    #[schemars(length(min = 1, max = 128))]
    pub set_identifier: Val<String>,
    /// TTL in seconds (absent for alias records, whose TTL is the target's).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub ttl: Val<i64>,
    /// The values of a non-alias record, in Route 53's order.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub records: Val<Vec<String>>,
    /// The alias target of an alias record; empty for a non-alias record.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub alias: Val<Vec<AliasModel>>,
    /// The weight of a weighted record set (0–255); absent otherwise.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub weight: Val<i64>,
    /// The routing policy: `simple`, `weighted`, `latency`, `failover`, `geolocation`, `multivalue`, `ip-based` or `geoproximity`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub routing_policy: Val<String>,
    /// `<zone_id>/<name>/<type>[/<set_identifier>]`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
}

/// An alias target.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct AliasModel {
    /// DNS name of the target, without the trailing dot (e.g. the ALB's `dns_name`).
    pub name: String,
    /// Hosted zone id of the target (for an ALB, its canonical hosted zone id).
    pub zone_id: String,
    /// Whether Route 53 checks the target's health before answering with it.
    pub evaluate_target_health: bool,
}

pub struct RecordDataSource;

#[async_trait]
impl DataSourceImpl for RecordDataSource {
    type Model = RecordModel;
    const TYPE_NAME: &'static str = "bluegreen_record";

    fn validate(m: &RecordModel, diags: &mut Diagnostics) {
        if let Some(Err(e)) = m.name.known().map(|n| check_name(n)) {
            diags.error_at(attr_path(&["name"]), "Invalid name", format!("{e}."));
        }
    }

    async fn read(ctx: &Ctx, mut m: RecordModel) -> Result<RecordModel, Diagnostics> {
        let (Some(zone_id), Some(name), Some(rtype)) = (m.zone_id.known(), m.name.known(), m.r#type.known()) else {
            unreachable!("required attributes are known when a data source is read")
        };
        let q = RecordQuery {
            zone_id: zone_id.clone(),
            name: name.clone(),
            record_type: RecordType::parse(rtype),
            set_identifier: m.set_identifier.known().cloned(),
        };
        // Through the per-zone component, like every Route 53 read of this provider.
        let zone = ctx.zones.zone(zone_id);
        let r = legacy::record(&zone, &q).await.map_err(|e| {
            let e = match e {
                // The candidates are set identifiers: say which attribute picks one.
                bluegreen_core::Error::Ambiguous { what, searched, candidates } => bluegreen_core::Error::Ambiguous {
                    what,
                    searched,
                    candidates: format!("record sets {candidates}. Set set_identifier to one of them"),
                },
                e => e,
            };
            let mut d = Diagnostics::new();
            let path = match &e {
                bluegreen_core::Error::NotFound { what: bluegreen_core::NotFoundKind::HostedZone, .. } => "zone_id",
                _ if m.set_identifier.is_set() => "set_identifier",
                _ => "name",
            };
            report(&mut d, &e, Some(attr_path(&[path])), "Reading record");
            d
        })?;
        let mut id = format!("{}/{}/{}", bluegreen_core::dns::bare_id(zone_id), display_name(&r.name), r.record_type);
        if let Some(s) = r.set_identifier() {
            id.push('/');
            id.push_str(s);
        }
        m.id = Val::Known(id);
        m.ttl = r.ttl.into();
        m.records = Val::Known(r.records.clone());
        m.alias = Val::Known(
            r.alias
                .iter()
                .map(|a| AliasModel {
                    name: display_name(&a.dns_name),
                    zone_id: a.hosted_zone_id.clone(),
                    evaluate_target_health: a.evaluate_target_health,
                })
                .collect(),
        );
        let (weight, policy) = match &r.routing {
            Routing::Simple => (None, "simple".to_string()),
            Routing::Weighted { weight, .. } => (Some(i64::from(*weight)), "weighted".to_string()),
            Routing::Other { policy, .. } => (None, policy.clone()),
        };
        m.weight = weight.into();
        m.routing_policy = Val::Known(policy);
        Ok(m)
    }
}
