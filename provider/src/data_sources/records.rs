//! `bluegreen_records`: every record set of a zone that points at one target — typically the names still answered
//! by the legacy load balancer, to adopt them all with one `for_each` of `bluegreen_switch`.

use async_trait::async_trait;
use bluegreen_core::aws::route53::{RecordSet, Routing};
use bluegreen_core::dns::{bare_id, display_name};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{exactly_one_of, patterns};
use crate::data_source::DataSourceImpl;
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::Ctx;
use crate::typed::Val;

/// Lists the record sets of a hosted zone that point at one target: an alias target (`alias_target`, e.g. the legacy
/// load balancer's `dns_name`) or record values (`values`). Answers "which names still point at the legacy stack?"
/// and feeds a `for_each` of `bluegreen_switch`, one switch per name. The zone is read with one listing (page by
/// page), which the switches planned in the same run reuse.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct RecordsModel {
    /// Id of the hosted zone to search.
    #[schemars(regex(pattern = patterns::ZONE_ID), extend("x-pattern-hint" = "be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\""))]
    pub zone_id: Val<String>,
    /// DNS name of an alias target, e.g. `data.bluegreen_load_balancer.legacy.dns_name`: the alias record sets pointing
    /// at it. Case, a trailing dot and a `dualstack.` prefix do not matter. Set this or `values`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 255))]
    pub alias_target: Val<String>,
    /// Record values, e.g. `["192.0.2.10"]` or a CNAME's target: the non-alias record sets answering with any of them.
    /// Case and a trailing dot do not matter. Set this or `alias_target`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub values: Val<Vec<String>>,
    /// The record sets found, in Route 53's order (by name, then type).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub records: Val<Vec<RecordEntry>>,
    /// `<zone_id>/<alias_target or the values joined by ",">`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
}

/// One record set pointing at the target.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct RecordEntry {
    /// The record's name, without the trailing dot (`api.example.com`).
    pub name: String,
    /// The record type, e.g. `A`, `AAAA` or `CNAME`.
    pub r#type: String,
    /// TTL in seconds; null for an alias record (its TTL is the target's).
    pub ttl: Option<i64>,
    /// `simple`, `weighted`, or `other` (latency, failover, geolocation, …: never adopted by a switch).
    pub routing: String,
    /// The set identifier of a weighted or other routed record set; null for a simple one. A name a
    /// `bluegreen_switch` manages has its blue side here (`blue` by default), at its blue weight.
    pub set_identifier: Option<String>,
    /// The weight (0–255) of a weighted record set; null otherwise.
    pub weight: Option<i64>,
}

pub struct RecordsDataSource;

/// A DNS name as compared: lower case, no trailing dot, no `dualstack.` prefix.
fn comparable(name: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    n.strip_prefix("dualstack.").map(str::to_string).unwrap_or(n)
}

/// Whether record set `r` points at the target.
fn points_at(r: &RecordSet, alias_target: Option<&str>, values: Option<&[String]>) -> bool {
    match (alias_target, values, &r.alias) {
        (Some(target), _, Some(a)) => comparable(&a.dns_name) == comparable(target),
        (_, Some(values), None) => r.records.iter().any(|v| values.iter().any(|w| comparable(v) == comparable(w))),
        _ => false,
    }
}

fn entry(r: &RecordSet) -> RecordEntry {
    let (routing, weight) = match &r.routing {
        Routing::Simple => ("simple", None),
        Routing::Weighted { weight, .. } => ("weighted", Some(i64::from(*weight))),
        Routing::Other { .. } => ("other", None),
    };
    RecordEntry {
        name: display_name(&r.name),
        r#type: r.record_type.to_string(),
        ttl: r.ttl,
        routing: routing.to_string(),
        set_identifier: r.set_identifier().map(str::to_string),
        weight,
    }
}

#[async_trait]
impl DataSourceImpl for RecordsDataSource {
    type Model = RecordsModel;
    const TYPE_NAME: &'static str = "bluegreen_records";

    fn validate(m: &RecordsModel, diags: &mut Diagnostics) {
        exactly_one_of(diags, "target", &[("alias_target", m.alias_target.is_set()), ("values", m.values.is_set())]);
    }

    async fn read(ctx: &Ctx, mut m: RecordsModel) -> Result<RecordsModel, Diagnostics> {
        let Some(zone_id) = m.zone_id.known().cloned() else { unreachable!("required attributes are known when a data source is read") };
        let zone = ctx.zones.zone(&zone_id);
        let all = zone.all_record_sets().await.map_err(|e| {
            let mut d = Diagnostics::new();
            report(&mut d, &e, Some(attr_path(&["zone_id"])), "Reading the zone's record sets");
            d
        })?;
        let (alias_target, values) = (m.alias_target.known().map(String::as_str), m.values.known().map(Vec::as_slice));
        m.records = Val::Known(all.iter().filter(|r| points_at(r, alias_target, values)).map(entry).collect());
        let target = match (alias_target, values) {
            (Some(t), _) => comparable(t),
            (_, Some(v)) => v.join(","),
            _ => String::new(),
        };
        m.id = Val::Known(format!("{}/{target}", bare_id(&zone_id)));
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluegreen_core::aws::route53::{AliasTarget, RecordType};

    fn alias(name: &str, dns: &str, routing: Routing) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type: RecordType::A,
            routing,
            ttl: None,
            records: vec![],
            alias: Some(AliasTarget { dns_name: dns.into(), hosted_zone_id: "Z35SXDOTRQ7X7K".into(), evaluate_target_health: true }),
            health_check_id: None,
        }
    }

    #[test]
    fn an_alias_target_matches_whatever_its_case_trailing_dot_or_dualstack_prefix() {
        let lb = "legacy-123.us-east-1.elb.amazonaws.com";
        for dns in ["dualstack.legacy-123.us-east-1.elb.amazonaws.com.", "LEGACY-123.us-east-1.elb.amazonaws.com"] {
            assert!(points_at(&alias("api.example.com.", dns, Routing::Simple), Some(lb), None), "{dns}");
        }
        assert!(!points_at(&alias("api.example.com.", "other.elb.amazonaws.com.", Routing::Simple), Some(lb), None));
        // An alias target never matches `values`, nor a value record an alias target.
        assert!(!points_at(&alias("api.example.com.", lb, Routing::Simple), None, Some(&[lb.to_string()])));
        let e = entry(&alias("API.example.com.", lb, Routing::Weighted { set_identifier: "blue".into(), weight: 75 }));
        assert_eq!(
            (e.name.as_str(), e.routing.as_str(), e.set_identifier.as_deref(), e.weight, e.ttl),
            ("api.example.com", "weighted", Some("blue"), Some(75), None)
        );
    }

    #[test]
    fn values_match_any_value_of_a_record_set() {
        let r = RecordSet {
            name: "www.example.com.".into(),
            record_type: RecordType::Cname,
            routing: Routing::Simple,
            ttl: Some(300),
            records: vec!["Legacy.Example.net.".into()],
            alias: None,
            health_check_id: None,
        };
        assert!(points_at(&r, None, Some(&["legacy.example.net".to_string()])));
        assert!(!points_at(&r, None, Some(&["new.example.net".to_string()])));
        assert_eq!(entry(&r).routing, "simple");
        assert_eq!(entry(&r).r#type, "CNAME");
    }
}
