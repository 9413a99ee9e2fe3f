//! `bluegreen_switch`: a zero-downtime Route 53 cutover between a blue
//! (legacy) and a green (new) weighted record set for one name.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bluegreen_core::aws::route53::ChangeInfo;
use bluegreen_core::aws::route53::{AliasTarget, RecordType};
use bluegreen_core::cutover::Cutover;
use bluegreen_core::dns::{canonical_name, check_name, display_name};
use bluegreen_core::engine::ShiftPlan;
use bluegreen_core::switch::{self as dns_switch, DnsCutover, DnsRouter, Observed, OnDestroy, Side, SwitchSpec, Target};
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::zone::{SyncOptions, Zone};
use bluegreen_core::{duration, Error};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{self, GateDefaults, GateOwner, HealthGateModel, OnGateFailureModel, SwitchRolloutModel};
use crate::diag::{attr_path, Diagnostics, PathBuilder};
use crate::errors::report;
use crate::resource::{Applied, Ctx, Planned, ResourceImpl};
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
    /// Id of the last Route 53 change this resource submitted.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub change_id: Val<String>,
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
    /// TTL in seconds of a `records` side. Defaults to 60 (an alias side has none: it takes the target's).
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

const DEFAULT_BLUE_ID: &str = "blue";
const DEFAULT_GREEN_ID: &str = "green";
/// TTL of a `records` side when the configuration sets none.
const DEFAULT_TTL: i64 = 60;

impl SideModel {
    /// The defaults that depend on the side: its set identifier, and a TTL for a `records` side only.
    fn complete(&mut self, default_id: &str) {
        self.set_identifier.fill(default_id.to_string());
        if self.alias.is_none() {
            self.ttl.fill(DEFAULT_TTL);
        }
    }
}

impl SwitchModel {
    fn record_type(&self) -> RecordType {
        RecordType::parse(self.r#type.known().map_or("A", String::as_str))
    }

    fn side_id<'a>(side: Option<&'a SideModel>, default: &'a str) -> Val<&'a str> {
        match side.map(|s| &s.set_identifier) {
            Some(Val::Known(s)) => Val::Known(s.as_str()),
            Some(Val::Unknown) => Val::Unknown,
            _ => Val::Known(default),
        }
    }

    fn ids(&self) -> (String, String) {
        (
            Self::side_id(self.blue.as_ref(), DEFAULT_BLUE_ID).known().map_or(DEFAULT_BLUE_ID, |s| s).to_string(),
            Self::side_id(self.green.as_ref(), DEFAULT_GREEN_ID).known().map_or(DEFAULT_GREEN_ID, |s| s).to_string(),
        )
    }

    fn sync(&self) -> SyncOptions {
        SyncOptions {
            wait: self.wait_for_sync.known().copied().unwrap_or(true),
            timeout: self.sync_timeout.known().and_then(|s| duration::parse(s).ok()).unwrap_or(Duration::from_secs(600)),
        }
    }

    fn target_split(&self) -> Option<TrafficSplit> {
        common::target_split(&self.traffic)
    }

    fn compute_id(&self) -> Val<String> {
        let (Some(z), Some(n)) = (self.zone_id.known(), self.name.known()) else { return Val::Unknown };
        let (b, g) = (Self::side_id(self.blue.as_ref(), DEFAULT_BLUE_ID), Self::side_id(self.green.as_ref(), DEFAULT_GREEN_ID));
        let (Some(b), Some(g)) = (b.known(), g.known()) else { return Val::Unknown };
        if self.r#type.is_unknown() {
            return Val::Unknown;
        }
        Val::Known(format!("{}/{}/{}/{b}/{g}", bluegreen_core::dns::bare_id(z), display_name(n), self.record_type()))
    }

    /// Sets the computed attributes that follow from `traffic`.
    fn set_split_attrs(&mut self, split: Option<TrafficSplit>) {
        (self.blue_weight, self.green_weight, self.active) = common::split_attrs(split);
    }

    /// The engine's view. Only called at apply, when everything is known.
    fn spec(&self) -> Result<SwitchSpec, Diagnostics> {
        let mut d = Diagnostics::new();
        let side = |m: Option<&SideModel>, default: &str| -> Option<Side> {
            let m = m?;
            let target = match (&m.alias, m.records.known()) {
                (Some(a), _) => Target::Alias(AliasTarget {
                    dns_name: canonical_name(a.name.known()?),
                    hosted_zone_id: a.zone_id.known()?.clone(),
                    evaluate_target_health: a.evaluate_target_health.known().copied().unwrap_or(true),
                }),
                (None, Some(values)) => Target::Records { values: values.clone(), ttl: m.ttl.known().copied().unwrap_or(DEFAULT_TTL) },
                (None, None) => return None,
            };
            Some(Side { set_identifier: m.set_identifier.known().cloned().unwrap_or_else(|| default.to_string()), target })
        };
        let (Some(name), Some(blue), Some(green)) =
            (self.name.known(), side(self.blue.as_ref(), DEFAULT_BLUE_ID), side(self.green.as_ref(), DEFAULT_GREEN_ID))
        else {
            d.bug("bluegreen_switch: a value needed at apply is not known");
            return Err(d);
        };
        Ok(SwitchSpec { name: canonical_name(name), record_type: self.record_type(), blue, green })
    }

    fn destroy_mode(&self) -> OnDestroy {
        match self.on_destroy.known() {
            Some(OnDestroyModel::Delete) => OnDestroy::Delete,
            _ => OnDestroy::Collapse,
        }
    }

    /// The engine's plan from `from` to the configured traffic; an error for a value that cannot be converted.
    fn shift_plan(&self, from: TrafficSplit) -> Result<ShiftPlan, Diagnostics> {
        common::shift_plan(
            from,
            &self.traffic,
            self.rollout.as_ref(),
            self.health_gate.as_ref(),
            &GateDefaults::switch(),
            &self.on_gate_failure,
            common::observed_traffic(self.rollout.as_ref(), self.health_gate.as_ref()),
        )
    }

    /// The core's view of the whole switch. Only called at apply, when everything is known.
    fn cutover(&self, ctx: &Ctx) -> Result<DnsCutover, Diagnostics> {
        Ok(DnsCutover {
            zone: self.zone(ctx),
            spec: self.spec()?,
            sync: self.sync(),
            adopt: self.adopt_existing.known().copied().unwrap_or(false),
            on_destroy: self.destroy_mode(),
        })
    }

    fn zone(&self, ctx: &Ctx) -> Arc<Zone> {
        ctx.zones.zone(self.zone_id.known().map_or("", String::as_str))
    }

    /// State after an apply step: the configured model with the real split.
    fn with_reality(mut self, split: TrafficSplit, change_id: Option<String>) -> SwitchModel {
        self.traffic = Val::Known(i64::from(split.green()));
        self.set_split_attrs(Some(split));
        self.id = self.compute_id();
        if let Some(c) = change_id {
            self.change_id = Val::Known(c);
        } else if self.change_id.is_unknown() {
            self.change_id = Val::Null;
        }
        self
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
                diags.error_at(p, "Record does not fit the type", format!("{v:?} is not {want} (type = {t:?})."));
            }
        }
        if t == "CNAME" && values.len() > 1 {
            diags.error_at(base.clone().attr("records"), "Too many CNAME values", "A CNAME record has exactly one value.");
        }
    }
}

fn same_target(a: &SideModel, b: &SideModel) -> bool {
    match (&a.alias, &b.alias) {
        (Some(x), Some(y)) => match (x.name.known(), y.name.known(), x.zone_id.known(), y.zone_id.known()) {
            (Some(n1), Some(n2), Some(z1), Some(z2)) => canonical_name(n1) == canonical_name(n2) && z1 == z2,
            _ => false,
        },
        (None, None) => match (a.records.known(), b.records.known()) {
            (Some(r1), Some(r2)) => {
                let mut r1: Vec<String> = r1.iter().map(|v| v.to_ascii_lowercase()).collect();
                let mut r2: Vec<String> = r2.iter().map(|v| v.to_ascii_lowercase()).collect();
                r1.sort();
                r2.sort();
                r1 == r2
            }
            _ => false,
        },
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// The resource.
// ---------------------------------------------------------------------------

pub struct SwitchResource;

/// The last Route 53 change id among a shift's writes (a write that a read-back found already in place has none).
fn last_change(writes: &[ChangeInfo]) -> Option<String> {
    writes.iter().rev().map(|c| c.id.clone()).find(|id| !id.is_empty())
}

#[async_trait]
impl ResourceImpl for SwitchResource {
    type Model = SwitchModel;
    const TYPE_NAME: &'static str = "bluegreen_switch";

    fn validate(m: &SwitchModel, diags: &mut Diagnostics) {
        if let Some(Err(e)) = m.name.known().map(|n| check_name(n)) {
            diags.error_at(attr_path(&["name"]), "Invalid name", format!("{e}."));
        }
        let rtype = match &m.r#type {
            Val::Known(t) => Some(t.as_str()),
            Val::Null => Some("A"),
            Val::Unknown => None,
        };
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
                        format!(
                            "blue and green both use set_identifier {bid:?}; Route 53 needs a different identifier for each record set."
                        ),
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

    fn complete(m: &mut SwitchModel) {
        if let Some(b) = m.blue.as_mut() {
            b.complete(DEFAULT_BLUE_ID);
        }
        if let Some(g) = m.green.as_mut() {
            g.complete(DEFAULT_GREEN_ID);
        }
    }

    async fn plan(ctx: Option<&Ctx>, prior: Option<&SwitchModel>, mut proposed: SwitchModel) -> Planned<SwitchModel> {
        let mut diags = Diagnostics::new();
        let mut requires_replace = Vec::new();
        if let Some(prior) = prior {
            if proposed.zone_id.known().map(|z| bluegreen_core::dns::bare_id(z).to_string())
                != prior.zone_id.known().map(|z| bluegreen_core::dns::bare_id(z).to_string())
            {
                requires_replace.push(attr_path(&["zone_id"]));
            }
            // Case and a trailing dot do not matter.
            if proposed.name.known().map(|n| canonical_name(n)) != prior.name.known().map(|n| canonical_name(n)) {
                requires_replace.push(attr_path(&["name"]));
            }
            if proposed.record_type() != prior.record_type() || proposed.r#type.is_unknown() {
                requires_replace.push(attr_path(&["type"]));
            }
        }
        // CNAME at the apex needs the zone's name: one cached read.
        if let (Some(ctx), Some("CNAME"), Some(name), Some(zone_id)) =
            (ctx, proposed.r#type.known().map(String::as_str), proposed.name.known(), proposed.zone_id.known())
        {
            if let Ok(info) = ctx.zones.zone(zone_id).info().await {
                if canonical_name(name) == info.name {
                    diags.error_at(
                        attr_path(&["name"]),
                        "CNAME at a zone apex",
                        format!(
                            "{} is the apex of zone {zone_id}; a CNAME cannot be there. Use type A or AAAA with an alias.",
                            display_name(name)
                        ),
                    );
                }
            }
        }
        let traffic_changes = prior.is_none_or(|p| p.traffic != proposed.traffic);
        let targets_change = prior.is_none_or(|p| p.blue != proposed.blue || p.green != proposed.green);
        // Computed-only attributes: derived from the configuration, or the prior change id while nothing is written.
        proposed.set_split_attrs(proposed.target_split());
        proposed.id = proposed.compute_id();
        proposed.change_id = match prior {
            Some(p) if !(traffic_changes || targets_change || !requires_replace.is_empty()) => p.change_id.clone(),
            _ => Val::Unknown,
        };
        let increasing = common::may_increase(prior.map(|p| &p.traffic), &proposed.traffic);
        common::check_gate_setup(ctx, increasing, proposed.health_gate.as_ref(), &GateDefaults::switch(), &mut diags).await;
        Planned { model: proposed, requires_replace, diags }
    }

    async fn plan_destroy(ctx: Option<&Ctx>, prior: &SwitchModel) -> Diagnostics {
        let Some(Ok(cutover)) = ctx.map(|ctx| prior.cutover(ctx)) else { return Diagnostics::new() };
        match cutover.check_destroy().await {
            // Only a refusal is final here; a failed read is left to the apply, which reads again.
            Err(e @ Error::Refused { .. }) => common::error_from(&e, Some(attr_path(&["traffic"])), "Destroying the switch"),
            _ => Diagnostics::new(),
        }
    }

    async fn create(ctx: &Ctx, planned: SwitchModel) -> Applied<SwitchModel> {
        let cutover = match planned.cutover(ctx) {
            Ok(c) => c,
            Err(diags) => return Applied { state: None, diags },
        };
        let plan = match planned.shift_plan(TrafficSplit::ALL_BLUE) {
            Ok(p) => p,
            Err(diags) => return Applied { state: None, diags },
        };
        let words = common::CreateWords {
            creating: "Creating the switch",
            refusal_path: |e| matches!(e, Error::Refused { .. }).then(|| attr_path(&["adopt_existing"])),
            waiting: "Waiting for Route 53",
            blocked: "Nothing was created; DNS answers as before",
            undone: |made: &dns_switch::Created| {
                let before = if made.adopted { "the original simple record answers again" } else { "the name has no records, as before" };
                format!("The switch was not created; {before}")
            },
            now: "Route 53 now answers",
        };
        let (kept, diags) = common::create(ctx, &cutover, &plan, &words).await;
        let state = kept.map(|(made, at, writes)| {
            let change = last_change(&writes).or(Some(made.change.id).filter(|c| !c.is_empty()));
            planned.with_reality(at, change)
        });
        Applied { state, diags }
    }

    async fn update(ctx: &Ctx, prior: SwitchModel, planned: SwitchModel) -> Applied<SwitchModel> {
        let spec = match planned.spec() {
            Ok(s) => s,
            Err(diags) => return Applied { state: Some(prior), diags },
        };
        let zone = planned.zone(ctx);
        let (old_b, old_g) = prior.ids();
        let observed = match dns_switch::observe(&zone, &spec.name, &spec.record_type, &old_b, &old_g).await {
            Ok(o) => o,
            Err(e) => return Applied { state: Some(prior), diags: common::error_from(&e, None, "Reading the switch") },
        };
        let from = observed.split().unwrap_or(TrafficSplit::ALL_BLUE);
        let mut model = planned.clone();
        let mut diags = Diagnostics::new();
        // Targets, identifiers or a missing side: rewrite both records at the current split first.
        let sides_differ =
            prior.blue != planned.blue || prior.green != planned.green || observed.blue.is_none() || observed.green.is_none();
        if sides_differ {
            let renamed = Some((old_b.as_str(), old_g.as_str()));
            match dns_switch::write(&zone, &spec, from, renamed).await {
                Ok(change) => {
                    if let Err(e) = zone.wait_insync(&change, planned.sync(), &ctx.stop).await {
                        report(&mut diags, &e, None, "Waiting for Route 53");
                        return Applied { state: Some(model.with_reality(from, Some(change.id))), diags };
                    }
                    if !change.id.is_empty() {
                        model.change_id = Val::Known(change.id);
                    }
                }
                Err(e) => {
                    // The prior state with the real split (and its own change_id).
                    let state = prior.with_reality(from, None);
                    return Applied { state: Some(state), diags: common::error_from(&e, None, "Updating the record sets") };
                }
            }
        } else if model.change_id.is_unknown() {
            model.change_id = prior.change_id.clone();
        }
        let plan = match model.shift_plan(from) {
            Ok(p) => p,
            Err(d) => {
                diags.extend(d);
                return Applied { state: Some(model.with_reality(from, None)), diags };
            }
        };
        let router = DnsRouter { zone, spec, sync: model.sync() };
        let (at, writes, diags) = common::shift(ctx, &router, &plan, "Route 53 now answers").await;
        Applied { state: Some(model.with_reality(at, last_change(&writes))), diags }
    }

    async fn delete(ctx: &Ctx, prior: SwitchModel) -> Applied<SwitchModel> {
        let cutover = match prior.cutover(ctx) {
            Ok(c) => c,
            Err(diags) => return Applied { state: Some(prior), diags },
        };
        match cutover.destroy(&ctx.stop).await {
            Ok(destroyed) => {
                let mut diags = Diagnostics::new();
                if let Some(e) = destroyed.unconfirmed {
                    // The change is accepted; only the wait failed. The records are gone either way.
                    diags.warning("Route 53 change not confirmed", format!("{e}"));
                }
                Applied { state: None, diags }
            }
            Err(e) => {
                let path = if matches!(e, Error::Refused { .. }) { Some(attr_path(&["traffic"])) } else { None };
                Applied { state: Some(prior), diags: common::error_from(&e, path, "Destroying the switch") }
            }
        }
    }

    async fn read(ctx: &Ctx, mut state: SwitchModel) -> Applied<SwitchModel> {
        let zone = state.zone(ctx);
        let (b, g) = state.ids();
        let name = state.name.known().cloned().unwrap_or_default();
        let observed = match dns_switch::observe(&zone, &name, &state.record_type(), &b, &g).await {
            Ok(o) => o,
            Err(Error::NotFound { .. }) => return Applied { state: None, diags: Diagnostics::new() },
            Err(e) => return Applied { state: Some(state), diags: common::error_from(&e, None, "Reading the switch") },
        };
        if observed.is_gone() {
            tracing::info!(name = %name, "both record sets are gone; the switch no longer exists");
            return Applied { state: None, diags: Diagnostics::new() };
        }
        refresh_side(&mut state.blue, observed.blue.as_ref());
        refresh_side(&mut state.green, observed.green.as_ref());
        let split = observed.split().unwrap_or(TrafficSplit::ALL_BLUE);
        state.traffic = Val::Known(i64::from(split.green()));
        state.set_split_attrs(Some(split));
        if state.id.is_null() {
            state.id = state.compute_id();
        }
        Applied { state: Some(state), diags: Diagnostics::new() }
    }

    async fn import(ctx: &Ctx, id: &str) -> Result<SwitchModel, Diagnostics> {
        let parts: Vec<&str> = id.split('/').collect();
        let (zone_id, name, rtype, blue_id, green_id) = match parts.as_slice() {
            [z, n, t] => (*z, *n, *t, DEFAULT_BLUE_ID, DEFAULT_GREEN_ID),
            [z, n, t, b, g] => (*z, *n, *t, *b, *g),
            _ => {
                let mut d = Diagnostics::new();
                d.error(
                    "Invalid import id",
                    format!("{id:?} is not <zone_id>/<name>/<type> or <zone_id>/<name>/<type>/<blue set_identifier>/<green set_identifier>, e.g. Z0123456789ABCDEFGHIJ/api.example.com/A/blue/green."),
                );
                return Err(d);
            }
        };
        let rt = RecordType::parse(rtype);
        if !matches!(rt, RecordType::A | RecordType::Aaaa | RecordType::Cname) {
            let mut d = Diagnostics::new();
            d.error("Invalid import id", format!("type {rtype:?} is not one of A, AAAA, CNAME."));
            return Err(d);
        }
        let zone = ctx.zones.zone(zone_id);
        let observed = dns_switch::observe(&zone, name, &rt, blue_id, green_id)
            .await
            .map_err(|e| common::error_from(&e, None, "Importing the switch"))?;
        let (Some(blue), Some(green)) = (&observed.blue, &observed.green) else {
            let mut d = Diagnostics::new();
            d.error(
                "Nothing to import",
                format!(
                    "{} {} in zone {zone_id} has no weighted pair with set identifiers {blue_id:?} and {green_id:?} (found {}).",
                    rtype,
                    display_name(name),
                    describe_found(&observed)
                ),
            );
            return Err(d);
        };
        // Everything Route 53 and the import id determine is stated; the adapter fills the schema's defaults for the
        // rest, so a configuration that spells the defaults out and one that omits them both plan no change.
        let side_model = |r: &bluegreen_core::aws::route53::RecordSet| SideModel {
            set_identifier: r.set_identifier().map(str::to_string).into(),
            alias: r.alias.as_ref().map(|a| AliasModel {
                name: Val::Known(display_name(&a.dns_name)),
                zone_id: Val::Known(a.hosted_zone_id.clone()),
                evaluate_target_health: Val::Known(a.evaluate_target_health),
            }),
            records: if r.alias.is_some() { Val::Null } else { Val::Known(r.records.clone()) },
            ttl: if r.alias.is_some() { Val::Null } else { r.ttl.into() },
        };
        let mut m = SwitchModel {
            zone_id: Val::Known(zone_id.to_string()),
            name: Val::Known(name.to_string()),
            r#type: Val::Known(rt.as_str().to_string()),
            blue: Some(side_model(blue)),
            green: Some(side_model(green)),
            ..SwitchModel::default()
        };
        let split = observed.split().unwrap_or(TrafficSplit::ALL_BLUE);
        m.traffic = Val::Known(i64::from(split.green()));
        m.set_split_attrs(Some(split));
        m.id = m.compute_id();
        Ok(m)
    }
}

fn describe_found(o: &Observed) -> String {
    let all: Vec<String> = [&o.blue, &o.green]
        .into_iter()
        .flatten()
        .chain(o.others.iter())
        .map(|r| match r.set_identifier() {
            Some(id) => format!("set {id:?}"),
            None => "a simple record".to_string(),
        })
        .collect();
    if all.is_empty() {
        "no record sets".to_string()
    } else {
        all.join(", ")
    }
}

/// Updates a side's state from what Route 53 holds: a missing record nulls
/// the block (so the plan recreates it); a changed target is reported, but
/// the user's spelling is kept where the meaning is the same.
fn refresh_side(side: &mut Option<SideModel>, real: Option<&bluegreen_core::aws::route53::RecordSet>) {
    let Some(real) = real else {
        *side = None;
        return;
    };
    let Some(s) = side.as_mut() else { return };
    match (&real.alias, s.alias.as_mut()) {
        (Some(ra), Some(sa)) => {
            if sa.name.known().map(|n| canonical_name(n)) != Some(canonical_name(&ra.dns_name)) {
                sa.name = Val::Known(display_name(&ra.dns_name));
            }
            if sa.zone_id.known() != Some(&ra.hosted_zone_id) {
                sa.zone_id = Val::Known(ra.hosted_zone_id.clone());
            }
            if sa.evaluate_target_health.known().copied().unwrap_or(true) != ra.evaluate_target_health {
                sa.evaluate_target_health = Val::Known(ra.evaluate_target_health);
            }
        }
        (Some(ra), None) => {
            s.alias = Some(AliasModel {
                name: Val::Known(display_name(&ra.dns_name)),
                zone_id: Val::Known(ra.hosted_zone_id.clone()),
                evaluate_target_health: Val::Known(ra.evaluate_target_health),
            });
            s.records = Val::Null;
            s.ttl = Val::Null;
        }
        (None, _) => {
            s.alias = None;
            let mut mine: Vec<String> = s.records.known().cloned().unwrap_or_default();
            let mut theirs = real.records.clone();
            mine.sort();
            theirs.sort();
            if mine != theirs {
                s.records = Val::Known(real.records.clone());
            }
            if s.ttl.known().copied().unwrap_or(DEFAULT_TTL) != real.ttl.unwrap_or(DEFAULT_TTL) {
                s.ttl = real.ttl.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluegreen_core::aws::route53::Routing;
    use bluegreen_core::aws::AwsClients;
    use bluegreen_core::testing::{FakeElbv2, FakeRoute53};
    use bluegreen_core::zone::Zones;
    use tokio_util::sync::CancellationToken;

    const Z: &str = "ZFAKE1";

    fn alias(name: &str) -> Option<AliasModel> {
        Some(AliasModel { name: Val::Known(name.into()), zone_id: Val::Known("Z35SXDOTRQ7X7K".into()), evaluate_target_health: Val::Null })
    }

    fn model(traffic: i64) -> SwitchModel {
        SwitchModel {
            zone_id: Val::Known(Z.into()),
            name: Val::Known("api.example.com".into()),
            blue: Some(SideModel { alias: alias("legacy-1.elb.amazonaws.com"), ..SideModel::default() }),
            green: Some(SideModel { alias: alias("ecs-1.elb.amazonaws.com"), ..SideModel::default() }),
            traffic: Val::Known(traffic),
            ..SwitchModel::default()
        }
    }

    fn errors(m: &SwitchModel) -> Vec<String> {
        let mut d = Diagnostics::new();
        SwitchResource::validate(m, &mut d);
        d.iter().map(|d| format!("{}: {}", d.path.as_ref().map(|p| p.to_string()).unwrap_or_default(), d.summary)).collect()
    }

    #[tokio::test]
    async fn name_spelling_does_not_replace_but_zone_and_type_do() {
        let prior = model(0);
        let mut p = model(0);
        p.name = Val::Known("API.Example.com.".into());
        assert!(SwitchResource::plan(None, Some(&prior), p).await.requires_replace.is_empty());
        let mut p = model(0);
        p.zone_id = Val::Known("ZOTHER".into());
        assert_eq!(SwitchResource::plan(None, Some(&prior), p).await.requires_replace, vec![attr_path(&["zone_id"])]);
        let mut p = model(0);
        p.r#type = Val::Known("AAAA".into());
        assert_eq!(SwitchResource::plan(None, Some(&prior), p).await.requires_replace, vec![attr_path(&["type"])]);
    }

    #[tokio::test]
    async fn plan_knows_the_weights_and_marks_change_id() {
        let mut prior = model(0);
        prior.change_id = Val::Known("C1".into());
        let mut p = prior.clone();
        p.traffic = Val::Known(30);
        let planned = SwitchResource::plan(None, Some(&prior), p).await.model;
        assert_eq!((planned.blue_weight, planned.green_weight), (Val::Known(70), Val::Known(30)));
        assert_eq!(planned.active, Val::Known("split".into()));
        assert!(planned.change_id.is_unknown());
        let unchanged = SwitchResource::plan(None, Some(&prior), prior.clone()).await.model;
        assert_eq!(unchanged.change_id, Val::Known("C1".into()));
        assert_eq!(unchanged.id, Val::Known("ZFAKE1/api.example.com/A/blue/green".into()));
    }

    #[test]
    fn cross_attribute_checks_point_at_the_attribute() {
        let mut m = model(10);
        m.blue.as_mut().unwrap().records = Val::Known(vec!["203.0.113.10".into()]);
        m.green.as_mut().unwrap().set_identifier = Val::Known("blue".into());
        m.rollout =
            Some(SwitchRolloutModel { observed_traffic: None, steps: Val::Known(vec![50, 10]), bake_time: Val::Known("5 minutes".into()) });
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

    fn ctx(r53: Arc<FakeRoute53>, elb: Arc<FakeElbv2>) -> Ctx {
        let clients = AwsClients {
            route53: r53.clone(),
            elbv2: elb,
            cloudwatch: bluegreen_core::watch::CloudWatchReader::new(Arc::new(bluegreen_core::testing::FakeCloudWatch::default())),
            region: "us-east-1".into(),
        };
        Ctx { zones: Arc::new(Zones::new(r53)), clients, stop: CancellationToken::new() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_gate_failure_mid_rollout_returns_the_real_split_with_the_error() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let elb = Arc::new(FakeElbv2::default());
        elb.set_health("arn:tg", vec!["healthy"]);
        let ctx = ctx(r53.clone(), elb.clone());
        let created = SwitchResource::create(&ctx, model(0)).await;
        assert!(created.diags.is_empty(), "{:?}", created.diags);
        let prior = created.state.unwrap();

        let mut planned = prior.clone();
        planned.traffic = Val::Known(100);
        planned.rollout =
            Some(SwitchRolloutModel { observed_traffic: None, steps: Val::Known(vec![10, 50]), bake_time: Val::Known("10m".into()) });
        planned.health_gate = Some(HealthGateModel { target_group_arns: Val::Known(vec!["arn:tg".into()]), ..HealthGateModel::default() });
        let elb2 = elb.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(700)).await;
            elb2.set_health("arn:tg", vec!["unhealthy"]);
        });
        let applied = SwitchResource::update(&ctx, prior, planned).await;
        let state = applied.state.unwrap();
        assert_eq!(state.traffic, Val::Known(0), "rolled back");
        assert_eq!((state.blue_weight, state.green_weight), (Val::Known(100), Val::Known(0)));
        let d = &applied.diags.0[0];
        assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%");
        assert_eq!(d.path, Some(attr_path(&["health_gate", "min_healthy_targets"])));
        assert!(d.detail.contains("1 unhealthy") && d.detail.contains("0% green, 100% blue"), "{}", d.detail);
        // Reality agrees with the returned state.
        let weights: Vec<Routing> = r53.records(Z).into_iter().map(|r| r.routing).collect();
        assert_eq!(
            weights,
            [
                Routing::Weighted { set_identifier: "blue".into(), weight: 100 },
                Routing::Weighted { set_identifier: "green".into(), weight: 0 }
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_during_a_bake_keeps_the_step_reached() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let prior = SwitchResource::create(&ctx, model(0)).await.state.unwrap();
        let mut planned = prior.clone();
        planned.traffic = Val::Known(100);
        planned.rollout =
            Some(SwitchRolloutModel { observed_traffic: None, steps: Val::Known(vec![25]), bake_time: Val::Known("1h".into()) });
        let stop = ctx.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            stop.cancel();
        });
        let applied = SwitchResource::update(&ctx, prior, planned).await;
        assert_eq!(applied.state.unwrap().traffic, Val::Known(25));
        assert_eq!(applied.diags.0[0].summary, "Stopped at 25% green");
        assert_eq!(applied.diags.0[0].severity, crate::diag::Severity::Error);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_while_a_create_waits_for_insync_is_a_warning() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        r53.pending_polls(1000);
        let ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let stop = ctx.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stop.cancel();
        });
        let applied = SwitchResource::create(&ctx, model(30)).await;
        assert_eq!(applied.state.unwrap().traffic, Val::Known(30), "the pair exists");
        assert!(!applied.diags.has_errors(), "{:?}", applied.diags);
        assert_eq!(applied.diags.0[0].summary, "Waiting for Route 53: stopped");
    }

    /// A create stopped mid-rollout returns the real split with an error:
    /// without one, Terraform rejects a result that differs from the plan
    /// ("inconsistent result after apply"). Terraform taints the switch for
    /// it (see docs/guides/failure-modes.md: `terraform untaint`).
    #[tokio::test(start_paused = true)]
    async fn stop_during_a_create_rollout_returns_the_real_split_with_an_error() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let mut planned = model(100);
        planned.rollout =
            Some(SwitchRolloutModel { observed_traffic: None, steps: Val::Known(vec![25]), bake_time: Val::Known("1h".into()) });
        let stop = ctx.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            stop.cancel();
        });
        let applied = SwitchResource::create(&ctx, planned).await;
        assert_eq!(applied.state.unwrap().traffic, Val::Known(25));
        assert!(applied.diags.has_errors(), "{:?}", applied.diags);
        assert_eq!(applied.diags.0[0].summary, "Stopped at 25% green");
    }
}
