//! The switch's model: the single source of its schema, the defaults that depend on other values, and the checks
//! across attributes (no AWS call).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bluegreen_core::dns::{check_name, display_name};
use bluegreen_core::switch::Destination;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{self, GateOwner, HealthGateModel, OnGateFailureModel, SwitchRolloutModel};
use crate::diag::{attr_path, Diagnostics, PathBuilder};
use crate::typed::Val;

// ---------------------------------------------------------------------------
// Model: configuration and state, and the single source of the schema.
// ---------------------------------------------------------------------------

/// Moves the answers for one DNS name from a legacy stack (**blue**) to a new one (**green**) with a pair of weighted
/// Route 53 record sets, inside `terraform apply`: adopt the existing record without a moment of no answer, shift traffic
/// in steps behind health gates, roll back automatically when a gate fails, and collapse to a single record at the end.
/// Rolling back is setting `traffic` lower and applying again.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct SwitchModel {
    /// Id of the hosted zone holding the name, e.g. from `data.bluegreen_hosted_zone.main.zone_id`. Changing it replaces the switch.
    #[schemars(regex(pattern = "^(/hostedzone/)?[A-Z0-9]{1,32}$"), extend("x-pattern-hint" = "be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\""))]
    pub zone_id: Val<String>,
    /// The DNS name to switch, e.g. `api.example.com`. Case and a trailing dot do not matter. Changing it replaces the switch.
    #[schemars(length(min = 1, max = 255))]
    pub name: Val<String>,
    /// Record type: `A`, `AAAA` or `CNAME`. Defaults to `A`. Changing it replaces the switch.
    #[serde(default)]
    #[schemars(regex(pattern = "^(A|AAAA|CNAME)$"), extend("default" = "A", "x-pattern-hint" = "be one of \"A\", \"AAAA\", \"CNAME\""))]
    pub r#type: Val<String>,
    /// The legacy side: where answers point today.
    #[schemars(required)]
    pub blue: Option<SideModel>,
    /// The new side.
    #[schemars(required)]
    pub green: Option<SideModel>,
    /// Whole percent (0–100) of answers that point at green; blue gets the rest (weights blue = 100 − traffic, green =
    /// traffic). Refresh reports the real split, round(100 · green / (blue + green)).
    #[schemars(range(min = 0, max = 100))]
    pub traffic: Val<i64>,
    /// How an apply moves green traffic up: intermediate steps and a bake time after each.
    #[serde(default)]
    pub rollout: Option<SwitchRolloutModel>,
    /// Conditions on green checked before any increase of green traffic, every `check_interval` during a bake and at its end.
    #[serde(default)]
    pub health_gate: Option<HealthGateModel>,
    /// `rollback` (default): on a gate failure return to the traffic value in effect before this apply. `halt`: return to
    /// the last step whose gate passed and stop there. Either way the apply fails, naming the gate and what it saw.
    #[serde(default)]
    #[schemars(extend("default" = "rollback"))]
    pub on_gate_failure: Val<OnGateFailureModel>,
    /// At create, replace an existing simple record of this name and type — which must point where `blue` points — with
    /// the weighted pair in one atomic change, so the name never goes without an answer. Defaults to `false`: an existing
    /// record is an error.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub adopt_existing: Val<bool>,
    /// `collapse` (default): destroying leaves one simple record for the side at 100 %, in one atomic change (refused
    /// while traffic is split). `delete`: remove both records; the name stops answering.
    #[serde(default)]
    #[schemars(extend("default" = "collapse"))]
    pub on_destroy: Val<OnDestroyModel>,
    /// Wait for Route 53 to report each change `INSYNC` (propagated to its name servers) before going on. Defaults to `true`.
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub wait_for_sync: Val<bool>,
    /// Longest wait for `INSYNC` per change, e.g. `"10m"` (the default).
    #[serde(default)]
    #[schemars(extend("default" = "10m"))]
    pub sync_timeout: Val<String>,
    /// `<zone_id>/<name>/<type>/<blue set_identifier>/<green set_identifier>`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
    /// Weight of the blue record set (100 − traffic).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub blue_weight: Val<i64>,
    /// Weight of the green record set (traffic).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub green_weight: Val<i64>,
    /// Which side answers: `blue` (traffic 0), `green` (100) or `split`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub active: Val<String>,
    /// When the weights in effect were reached (RFC 3339, UTC): the Route 53 change went `INSYNC`, or was accepted with
    /// `wait_for_sync = false`. The step's clock: a bake is measured from it, so an apply that starts at one of
    /// `rollout.steps` first finishes that step's `bake_time`, waiting only what is left of it (time spent there before a
    /// Ctrl-C or between applies counts). Refresh keeps it while the weights are unchanged; weights changed outside
    /// Terraform get the time refresh saw them.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub shifted_at: Val<String>,
    /// Id of the last Route 53 change this resource submitted.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub change_id: Val<String>,
    /// Id of the Route 53 health check green's record carries while `health_gate.dns_failover` is on (with several
    /// alarms, the `CALCULATED` parent); null otherwise. Refresh nulls it when that check was deleted, detached from the
    /// record or changed outside Terraform, so the plan shows the repair and the next apply builds the guard again.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub green_health_check_id: Val<String>,
}

/// One side of the switch: a weighted record set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct SideModel {
    /// The record set's identifier within the weighted set. Defaults to `blue` / `green`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 128), extend("x-computed" = true))]
    pub set_identifier: Val<String>,
    /// Alias to an AWS resource such as an ALB. Set this or `records`.
    #[serde(default)]
    pub alias: Option<AliasModel>,
    /// Record values (IPv4 addresses for `A`, IPv6 for `AAAA`, one host name for `CNAME`). Set this or `alias`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub records: Val<Vec<String>>,
    /// TTL in seconds of a `records` side. Defaults to the TTL of the simple record the switch adopted (`adopt_existing`),
    /// so adopting never changes how long resolvers cache the answer, else to 60. An alias side has none: it takes the
    /// target's.
    #[serde(default)]
    #[schemars(range(min = 0, max = 2147483647), extend("x-computed" = true))]
    pub ttl: Val<i64>,
}

/// An alias target.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct AliasModel {
    /// DNS name of the target, e.g. `data.bluegreen_load_balancer.legacy.dns_name`.
    #[schemars(length(min = 1, max = 1024))]
    pub name: Val<String>,
    /// Hosted zone id of the target (for an ALB its canonical hosted zone id, `data.bluegreen_load_balancer.legacy.zone_id`).
    #[schemars(regex(pattern = "^[A-Z0-9]{1,32}$"), extend("x-pattern-hint" = "be a hosted zone id such as \"Z35SXDOTRQ7X7K\""))]
    pub zone_id: Val<String>,
    /// Let Route 53 skip this side when the target is unhealthy. Defaults to `true`.
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub evaluate_target_health: Val<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnDestroyModel {
    /// Leave one simple record for the side at 100 %.
    Collapse,
    /// Remove both records.
    Delete,
}

pub(super) const DEFAULT_BLUE_ID: &str = "blue";
pub(super) const DEFAULT_GREEN_ID: &str = "green";
/// TTL of a `records` side when the configuration sets none.
const DEFAULT_TTL: i64 = 60;

impl SideModel {
    /// The default that depends on the side only: its set identifier. (A `records` side's TTL depends on what the
    /// switch adopted: see [`SideModel::fill_ttl`].)
    pub(super) fn complete(&mut self, default_id: &str) {
        self.set_identifier.fill(default_id.to_string());
    }

    /// A `records` side without a configured `ttl` gets the TTL of the record the switch adopted (`adopted`: `Some(None)`
    /// when it adopted none or an alias, `None` while that is not known yet), else 60.
    pub(super) fn fill_ttl(&mut self, adopted: Option<Option<i64>>) {
        if self.alias.is_none() && self.ttl.is_null() {
            self.ttl = match adopted {
                Some(ttl) => Val::Known(ttl.unwrap_or(DEFAULT_TTL)),
                None => Val::Unknown,
            };
        }
    }
}

// ---------------------------------------------------------------------------
// Validation: no AWS call.
// ---------------------------------------------------------------------------

fn validate_side(side: &SideModel, which: &str, rtype: Option<&str>, diags: &mut Diagnostics) {
    let base = attr_path(&[which]);
    match (&side.alias, side.records.is_set()) {
        (Some(_), true) => diags.error_at(
            base.clone().attr("records"),
            "Conflicting targets",
            format!("{which} sets both an alias block and records; set exactly one of them."),
        ),
        (None, false) => diags.error_at(
            base.clone(),
            "Missing target",
            format!("{which} needs a target: an alias {{ name, zone_id }} block (e.g. an ALB) or records = [...]."),
        ),
        _ => {}
    }
    if side.alias.is_some() && side.ttl.is_set() {
        diags.error_at(
            base.clone().attr("ttl"),
            "ttl with an alias",
            "An alias record takes its TTL from the target; remove ttl or use records.",
        );
    }
    if let Some(a) = &side.alias {
        if let Some(Err(e)) = a.name.known().map(|n| check_name(n)) {
            diags.error_at(base.clone().attr("alias").attr("name"), "Invalid alias name", format!("{e}."));
        }
        if rtype == Some("CNAME") {
            // An alias of type CNAME is allowed by Route 53 only to other records in the zone; we do not second-guess it.
        }
    }
    if let (Some(values), Some(t)) = (side.records.known(), rtype) {
        for (i, v) in values.iter().enumerate() {
            let p = base.clone().attr("records").index(i);
            let ok = match t {
                "A" => v.parse::<Ipv4Addr>().is_ok(),
                "AAAA" => v.parse::<Ipv6Addr>().is_ok(),
                _ => check_name(v).is_ok(),
            };
            if !ok {
                let want = match t {
                    "A" => "an IPv4 address such as 203.0.113.10",
                    "AAAA" => "an IPv6 address such as 2001:db8::10",
                    _ => "a host name such as app.example.net",
                };
                // A host name under A or AAAA: what was meant is most likely a CNAME (or an alias).
                let host_name = t != "CNAME" && v.contains('.') && v.parse::<std::net::IpAddr>().is_err() && check_name(v).is_ok();
                let hint = if host_name {
                    " A host name is answered by a CNAME record: set type = \"CNAME\" (with exactly one value), or use an alias \
                     block for an AWS load balancer or CloudFront distribution."
                } else {
                    ""
                };
                diags.error_at(p, "Record does not fit the type", format!("{v:?} is not {want} (type = {t:?}).{hint}"));
            }
        }
        if t == "CNAME" && values.len() > 1 {
            diags.error_at(base.clone().attr("records"), "Too many CNAME values", "A CNAME record has exactly one value.");
        }
    }
}

impl SideModel {
    /// Where the side points, once that is known (core's one definition of "the same place").
    fn destination(&self) -> Option<Destination> {
        match &self.alias {
            Some(a) => Some(Destination::alias(a.name.known()?, a.zone_id.known()?)),
            None => Some(Destination::values(self.records.known()?)),
        }
    }
}

fn same_target(a: &SideModel, b: &SideModel) -> bool {
    matches!((a.destination(), b.destination()), (Some(x), Some(y)) if x == y)
}

/// Checks across attributes, beyond the schema's constraints (see [`crate::resource::ResourceImpl::validate`]).
pub(super) fn validate(m: &SwitchModel, diags: &mut Diagnostics) {
    if let Some(Err(e)) = m.name.known().map(|n| check_name(n)) {
        diags.error_at(attr_path(&["name"]), "Invalid name", format!("{e}."));
    }
    let rtype = m.r#type.known().map(String::as_str);
    if rtype == Some("CNAME") {
        if let Some(n) = m.name.known() {
            if display_name(n).split('.').count() < 2 {
                diags.error_at(
                    attr_path(&["name"]),
                    "CNAME at a zone apex",
                    "A CNAME cannot be at the apex of a zone; use type A or AAAA with an alias.",
                );
            }
        }
    }
    for (which, side) in [("blue", &m.blue), ("green", &m.green)] {
        if let Some(s) = side {
            validate_side(s, which, rtype, diags);
        }
    }
    if let (Some(b), Some(g)) = (&m.blue, &m.green) {
        let (bid, gid) = (SwitchModel::side_id(Some(b), DEFAULT_BLUE_ID), SwitchModel::side_id(Some(g), DEFAULT_GREEN_ID));
        if let (Some(bid), Some(gid)) = (bid.known(), gid.known()) {
            if bid == gid {
                diags.error_at(
                    attr_path(&["green", "set_identifier"]),
                    "Identical set identifiers",
                    format!("blue and green both use set_identifier {bid:?}; Route 53 needs a different identifier for each record set."),
                );
            }
        }
        if same_target(b, g) {
            diags.error_at(
                attr_path(&["green"]),
                "Blue and green point to the same place",
                "green must point at the new stack; it has the same target as blue, so the switch would move nothing.",
            );
        }
    }
    if let Some(r) = &m.rollout {
        common::validate_rollout(r, &attr_path(&["rollout"]), diags);
        if let Some(o) = &r.observed_traffic {
            common::validate_observed_traffic(o, &attr_path(&["rollout", "observed_traffic"]), diags);
        }
    }
    if let Some(g) = &m.health_gate {
        common::validate_gate(g, &attr_path(&["health_gate"]), GateOwner::Switch, diags);
        if g.target_group_arns.known().is_some_and(Vec::is_empty) && g.http_check.is_none() && common::no_cloudwatch(g) {
            diags.warning_at(
                attr_path(&["health_gate"]),
                "Empty health gate",
                "The gate lists no target group and no http_check, so it always passes.",
            );
        }
    }
    common::check_duration(
        &m.sync_timeout,
        attr_path(&["sync_timeout"]),
        "sync_timeout",
        Duration::from_secs(1),
        Duration::from_secs(3600),
        diags,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ResourceImpl;
    use crate::resources::switch::tests::model;
    use crate::resources::switch::SwitchResource;

    fn errors(m: &SwitchModel) -> Vec<String> {
        let mut d = Diagnostics::new();
        SwitchResource::validate(m, &mut d);
        d.iter().map(|d| format!("{}: {}", d.path.as_ref().map(|p| p.to_string()).unwrap_or_default(), d.summary)).collect()
    }

    #[test]
    fn cross_attribute_checks_point_at_the_attribute() {
        let mut m = model(10);
        m.blue.as_mut().unwrap().records = Val::Known(vec!["203.0.113.10".into()]);
        m.green.as_mut().unwrap().set_identifier = Val::Known("blue".into());
        m.rollout = Some(SwitchRolloutModel {
            observed_traffic: None,
            steps: Val::Known(vec![50, 10]),
            bake_time: Val::Known("5 minutes".into()),
            max_wait_per_apply: Val::Null,
        });
        let e = errors(&m);
        assert!(e.contains(&".blue.records: Conflicting targets".to_string()), "{e:?}");
        assert!(e.contains(&".green.set_identifier: Identical set identifiers".to_string()), "{e:?}");
        assert!(e.contains(&".rollout.steps[1]: Invalid rollout step".to_string()), "{e:?}");
        assert!(e.contains(&".rollout.bake_time: Invalid bake_time".to_string()), "{e:?}");

        let mut m = model(10);
        m.green = m.blue.clone();
        m.green.as_mut().unwrap().set_identifier = Val::Known("g".into());
        assert_eq!(errors(&m), [".green: Blue and green point to the same place"]);

        let mut m = model(10);
        m.r#type = Val::Known("CNAME".into());
        m.blue = Some(SideModel { records: Val::Known(vec!["a.example.net".into(), "b.example.net".into()]), ..SideModel::default() });
        m.green = Some(SideModel { records: Val::Known(vec!["not a host".into()]), ..SideModel::default() });
        let e = errors(&m);
        assert!(e.contains(&".blue.records: Too many CNAME values".to_string()), "{e:?}");
        assert!(e.contains(&".green.records[0]: Record does not fit the type".to_string()), "{e:?}");
    }

    #[test]
    fn unknown_values_are_not_judged() {
        let mut m = model(10);
        m.green.as_mut().unwrap().alias.as_mut().unwrap().name = Val::Unknown;
        m.name = Val::Unknown;
        assert!(errors(&m).is_empty());
    }

    #[test]
    fn dns_failover_needs_alarms_and_is_the_switch_s_only() {
        let gate = |alarms: Val<Vec<String>>| HealthGateModel {
            dns_failover: Val::Known(true),
            cloudwatch_alarms: alarms,
            ..HealthGateModel::default()
        };
        let mut m = model(10);
        m.health_gate = Some(gate(Val::Null));
        assert_eq!(errors(&m), [".health_gate.dns_failover: dns_failover needs cloudwatch_alarms"]);
        m.health_gate = Some(gate(Val::Known(vec![])));
        assert_eq!(errors(&m), [".health_gate.dns_failover: dns_failover needs cloudwatch_alarms"]);
        m.health_gate = Some(gate(Val::Known(vec!["green-5xx".into()])));
        assert!(errors(&m).is_empty(), "{:?}", errors(&m));
        m.health_gate = Some(gate(Val::Unknown));
        assert!(errors(&m).is_empty(), "not judged while unknown");

        let mut d = Diagnostics::new();
        common::validate_gate(&gate(Val::Known(vec!["green-5xx".into()])), &attr_path(&["health_gate"]), GateOwner::Canary, &mut d);
        let e = &d.0[0];
        assert_eq!(
            (e.path.clone(), e.summary.as_str()),
            (Some(attr_path(&["health_gate", "dns_failover"])), "dns_failover is not available on canary_listener")
        );
        assert!(
            e.detail.contains("no equivalent without running code") && e.detail.contains("docs/guides/scheduled-rollout.md"),
            "{}",
            e.detail
        );
    }
}
