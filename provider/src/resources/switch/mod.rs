//! `bluegreen_switch`: a zero-downtime Route 53 cutover between a blue
//! (legacy) and a green (new) weighted record set for one name.

mod model;

use std::sync::Arc;

use async_trait::async_trait;
use bluegreen_core::aws::route53::ChangeInfo;
use bluegreen_core::aws::route53::{AliasTarget, RecordType};
use bluegreen_core::cutover::{self, Cutover, Updated};
use bluegreen_core::dns::{canonical_name, display_name};
use bluegreen_core::engine::ShiftPlan;
use bluegreen_core::failover::{self, DnsFailover};
use bluegreen_core::gate::AwsGateProbe;
use bluegreen_core::switch::{self as dns_switch, Destination, DnsCutover, Observed, OnDestroy, PriorPair, Side, SwitchSpec, Target};
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::zone::{SyncOptions, Zone};
use bluegreen_core::{duration, Error};

use super::common::{self, GateDefaults};
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::{replace_paths, Applied, Ctx, Planned, ReplaceOn, ResourceImpl};
use crate::typed::{not_known_at_apply, Val};
pub use model::*;
use model::{DEFAULT_BLUE_ID, DEFAULT_GREEN_ID};

impl SwitchModel {
    /// The record type; `None` while unknown (the schema's default is filled in before anything reads it).
    fn record_type(&self) -> Option<RecordType> {
        self.r#type.known().map(|t| RecordType::parse(t))
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

    /// A value of the model at apply (see [`Val::needed`]).
    fn needed<T>(v: &Val<T>) -> Result<&T, Diagnostics> {
        v.needed(SwitchResource::TYPE_NAME)
    }

    fn sync(&self) -> Result<SyncOptions, Diagnostics> {
        let timeout = Self::needed(&self.sync_timeout)?;
        Ok(SyncOptions {
            wait: *Self::needed(&self.wait_for_sync)?,
            // Validation refuses an unparsable duration; one here is a bug, like a missing value.
            timeout: duration::parse(timeout).map_err(|_| not_known_at_apply(SwitchResource::TYPE_NAME))?,
        })
    }

    fn target_split(&self) -> Option<TrafficSplit> {
        common::target_split(&self.traffic)
    }

    fn compute_id(&self) -> Val<String> {
        let (Some(z), Some(n)) = (self.zone_id.known(), self.name.known()) else { return Val::Unknown };
        let (b, g) = (Self::side_id(self.blue.as_ref(), DEFAULT_BLUE_ID), Self::side_id(self.green.as_ref(), DEFAULT_GREEN_ID));
        let (Some(b), Some(g)) = (b.known(), g.known()) else { return Val::Unknown };
        let Some(t) = self.record_type() else { return Val::Unknown };
        Val::Known(format!("{}/{}/{t}/{b}/{g}", bluegreen_core::dns::bare_id(z), display_name(n)))
    }

    /// `traffic` and what derives from it, from a split: plan, apply, read and import all set them here.
    fn set_split(&mut self, split: Option<TrafficSplit>) {
        (self.traffic, self.blue_weight, self.green_weight, self.active) = common::split_attrs(split, &self.traffic);
    }

    /// The engine's view. Only called at apply, when everything is known.
    fn spec(&self) -> Result<SwitchSpec, Diagnostics> {
        let side = |m: Option<&SideModel>| Self::side(m.ok_or_else(|| not_known_at_apply(SwitchResource::TYPE_NAME))?);
        Ok(SwitchSpec {
            name: canonical_name(Self::needed(&self.name)?),
            record_type: RecordType::parse(Self::needed(&self.r#type)?),
            blue: side(self.blue.as_ref())?,
            green: side(self.green.as_ref())?,
            green_health_check_id: self.green_health_check_id.known().cloned(),
        })
    }

    /// One side in the engine's terms.
    fn side(m: &SideModel) -> Result<Side, Diagnostics> {
        let target = match &m.alias {
            Some(a) => Target::Alias(AliasTarget {
                dns_name: canonical_name(Self::needed(&a.name)?),
                hosted_zone_id: Self::needed(&a.zone_id)?.clone(),
                evaluate_target_health: *Self::needed(&a.evaluate_target_health)?,
            }),
            None => Target::Records { values: Self::needed(&m.records)?.clone(), ttl: *Self::needed(&m.ttl)? },
        };
        Ok(Side { set_identifier: Self::needed(&m.set_identifier)?.clone(), target })
    }

    /// The pair as this (prior) state has it, for an update: a side refresh found gone (or that does not convert) is
    /// `None`, so the update writes it again.
    fn prior_pair(&self, region: &str) -> PriorPair {
        let side = |m: Option<&SideModel>| m.and_then(|m| Self::side(m).ok());
        PriorPair {
            ids: self.ids(),
            blue: side(self.blue.as_ref()),
            green: side(self.green.as_ref()),
            failover: self.failover(region).known().cloned().flatten(),
            health_check_id: self.green_health_check_id.known().cloned(),
        }
    }

    /// The DNS failover guard configured (`health_gate.dns_failover`): `None` when off, unknown while what it
    /// depends on is.
    fn failover(&self, region: &str) -> Val<Option<DnsFailover>> {
        let Some(g) = &self.health_gate else { return Val::Known(None) };
        match g.dns_failover {
            Val::Unknown => return Val::Unknown,
            Val::Known(true) => {}
            _ => return Val::Known(None),
        }
        let (Val::Known(alarms), Val::Known(data)) = (&g.cloudwatch_alarms, &g.alarm_insufficient_data) else { return Val::Unknown };
        Val::Known(DnsFailover::new(region, alarms, *data == common::InsufficientDataModel::Fail))
    }

    /// `green_health_check_id` at plan: the prior one while the guard stays as it was (refresh nulls one that is
    /// broken), unknown when one is to be built, null without a guard.
    fn planned_health_check(&self, prior: Option<&SwitchModel>, replaced: bool) -> Val<String> {
        // Plans compare configurations, which name no region: the provider's is the same for both.
        match self.failover("") {
            Val::Known(None) => Val::Null,
            Val::Known(Some(want)) => match prior {
                Some(p) if !replaced && p.failover("").known() == Some(&Some(want)) && p.green_health_check_id.known().is_some() => {
                    p.green_health_check_id.clone()
                }
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }

    fn destroy_mode(&self) -> Result<OnDestroy, Diagnostics> {
        Ok(match Self::needed(&self.on_destroy)? {
            OnDestroyModel::Delete => OnDestroy::Delete,
            OnDestroyModel::Collapse => OnDestroy::Collapse,
        })
    }

    /// The engine's plan to the configured traffic; an error for a value that cannot be converted.
    fn shift_plan(&self) -> Result<ShiftPlan, Diagnostics> {
        common::shift_plan(
            &self.traffic,
            self.rollout.as_ref(),
            self.health_gate.as_ref(),
            &GateDefaults::switch(),
            &self.on_gate_failure,
            common::observed_traffic(self.rollout.as_ref(), self.health_gate.as_ref(), SwitchResource::TYPE_NAME)?,
        )
    }

    /// The core's view of the whole switch. Only called at apply, when everything is known.
    fn cutover(&self, ctx: &Ctx) -> Result<DnsCutover, Diagnostics> {
        Ok(DnsCutover {
            zone: self.zone(ctx),
            spec: self.spec()?,
            sync: self.sync()?,
            adopt: *Self::needed(&self.adopt_existing)?,
            on_destroy: self.destroy_mode()?,
            failover: self.failover(&ctx.clients.region).needed(SwitchResource::TYPE_NAME)?.clone(),
        })
    }

    fn zone(&self, ctx: &Ctx) -> Arc<Zone> {
        ctx.zones.zone(self.zone_id.known().map_or("", String::as_str))
    }

    /// State after an apply step: the configured model with the real split and the health check green's record carries.
    fn with_reality(mut self, split: TrafficSplit, change_id: Option<String>, made: &dns_switch::Created) -> SwitchModel {
        self.green_health_check_id = made.health_check_id.clone().into();
        self.set_split(Some(split));
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
// The resource.
// ---------------------------------------------------------------------------

pub struct SwitchResource;

/// What refresh learnt that the state cannot hold.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SwitchPrivate {
    /// Refresh found the failover guard the state named deleted, detached or changed: the state's
    /// `green_health_check_id` is null (so the plan shows the repair), and the next apply deletes what is left of
    /// this one (if this provider made it) after attaching the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replaced_health_check: Option<String>,
}

/// The last Route 53 change id among a shift's writes (a write that a read-back found already in place has none).
fn last_change(writes: &[ChangeInfo]) -> Option<String> {
    writes.iter().rev().map(|c| c.id.clone()).find(|id| !id.is_empty())
}

#[async_trait]
impl ResourceImpl for SwitchResource {
    type Model = SwitchModel;
    type Private = SwitchPrivate;
    const TYPE_NAME: &'static str = "bluegreen_switch";
    const REPLACE_ON: &'static [ReplaceOn<SwitchModel>] = &[
        ReplaceOn { path: &["zone_id"], key: |m| m.zone_id.clone().map(|z| bluegreen_core::dns::bare_id(&z).to_string()) },
        // Case and a trailing dot do not matter.
        ReplaceOn { path: &["name"], key: |m| m.name.clone().map(|n| canonical_name(&n)) },
        ReplaceOn { path: &["type"], key: |m| m.record_type().map_or(Val::Unknown, |t| Val::Known(t.as_str().to_string())) },
    ];

    fn validate(m: &SwitchModel, diags: &mut Diagnostics) {
        model::validate(m, diags)
    }

    fn complete(m: &mut SwitchModel) {
        if let Some(b) = m.blue.as_mut() {
            b.complete(DEFAULT_BLUE_ID);
        }
        if let Some(g) = m.green.as_mut() {
            g.complete(DEFAULT_GREEN_ID);
        }
    }

    async fn plan(
        ctx: Option<&Ctx>,
        prior: Option<&SwitchModel>,
        mut proposed: SwitchModel,
        _: &mut SwitchPrivate,
    ) -> Planned<SwitchModel> {
        let mut diags = Diagnostics::new();
        let replaced = prior.is_some_and(|p| !replace_paths::<Self>(p, &proposed).is_empty());
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
        proposed.set_split(proposed.target_split());
        proposed.id = proposed.compute_id();
        proposed.change_id = match prior {
            Some(p) if !(traffic_changes || targets_change || replaced) => p.change_id.clone(),
            _ => Val::Unknown,
        };
        proposed.green_health_check_id = proposed.planned_health_check(prior, replaced);
        let increasing = common::may_increase(prior.map(|p| &p.traffic), &proposed.traffic);
        common::check_gate_setup(ctx, increasing, proposed.health_gate.as_ref(), &GateDefaults::switch(), &mut diags).await;
        Planned { model: proposed, diags }
    }

    async fn plan_destroy(ctx: Option<&Ctx>, prior: &SwitchModel) -> Diagnostics {
        let Some(Ok(cutover)) = ctx.map(|ctx| prior.cutover(ctx)) else { return Diagnostics::new() };
        match cutover.check_destroy().await {
            // Only a refusal is final here; a failed read is left to the apply, which reads again.
            Err(e @ Error::Refused { .. }) => common::error_from(&e, Some(attr_path(&["traffic"])), "Destroying the switch"),
            _ => Diagnostics::new(),
        }
    }

    async fn create(ctx: &Ctx, planned: SwitchModel, _: &mut SwitchPrivate) -> Applied<SwitchModel> {
        let cutover = match planned.cutover(ctx) {
            Ok(c) => c,
            Err(diags) => return Applied { state: None, diags },
        };
        let plan = match planned.shift_plan() {
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
            let change = last_change(&writes).or(Some(made.change.id.clone()).filter(|c| !c.is_empty()));
            planned.with_reality(at, change, &made)
        });
        Applied { state, diags }
    }

    async fn update(ctx: &Ctx, prior: SwitchModel, planned: SwitchModel, private: &mut SwitchPrivate) -> Applied<SwitchModel> {
        let (cutover, plan) = match (planned.cutover(ctx), planned.shift_plan()) {
            (Ok(c), Ok(p)) => (c, p),
            (Err(diags), _) | (_, Err(diags)) => return Applied { state: Some(prior), diags },
        };
        let probe = AwsGateProbe::new(&ctx.clients);
        let mut prior_pair = prior.prior_pair(&ctx.clients.region);
        // The guard refresh found broken: what is left of it goes once the new one is attached.
        if prior_pair.health_check_id.is_none() {
            prior_pair.health_check_id = private.replaced_health_check.take();
        }
        match cutover::update(&cutover, &prior_pair, &probe, &plan, &ctx.stop).await {
            Updated::Unread(e) => Applied { state: Some(prior), diags: common::error_from(&e, None, "Reading the switch") },
            // The prior state with the real split (and its own change_id).
            Updated::NotReconciled { at, error, in_place } => Applied {
                state: Some(prior.with_reality(at, None, &in_place)),
                diags: common::error_from(&error, None, "Updating the record sets"),
            },
            Updated::Unsettled { made, at, error } => {
                let mut diags = Diagnostics::new();
                report(&mut diags, &error, None, "Waiting for Route 53");
                Applied { state: Some(planned.with_reality(at, Some(made.change.id.clone()), &made)), diags }
            }
            Updated::Shifted { made, report } => {
                let mut model = planned;
                // The records' own change when they were written again, else the prior one, until a shift writes.
                model.change_id = match &made.change.id {
                    id if !id.is_empty() => Val::Known(id.clone()),
                    _ => prior.change_id.clone(),
                };
                let mut diags = Diagnostics::new();
                common::outcome_diags(&report.outcome, report.at, plan.to, &mut diags, "Route 53 now answers");
                Applied { state: Some(model.with_reality(report.at, last_change(&report.writes), &made)), diags }
            }
        }
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

    async fn read(ctx: &Ctx, mut state: SwitchModel, private: &mut SwitchPrivate) -> Applied<SwitchModel> {
        let zone = state.zone(ctx);
        let (b, g) = state.ids();
        let name = state.name.known().cloned().unwrap_or_default();
        let Some(rtype) = state.record_type() else {
            return Applied { state: Some(state), diags: crate::typed::not_known_at_apply(SwitchResource::TYPE_NAME) };
        };
        let observed = match dns_switch::observe(&zone, &name, &rtype, &b, &g).await {
            Ok(o) => o,
            Err(Error::NotFound { .. }) => return Applied { state: None, diags: Diagnostics::new() },
            Err(e) => return Applied { state: Some(state), diags: common::error_from(&e, None, "Reading the switch") },
        };
        if observed.is_gone() {
            tracing::info!(name = %name, "both record sets are gone; the switch no longer exists");
            return Applied { state: None, diags: Diagnostics::new() };
        }
        // The guard: what green's record carries, while it still is the guard configured (a check deleted, detached
        // or changed outside Terraform reads as none, so the plan shows the repair).
        let attached = observed.green.as_ref().and_then(|r| r.health_check_id.clone());
        let was = state.green_health_check_id.known().cloned();
        state.green_health_check_id = match (state.failover(&ctx.clients.region), attached) {
            (Val::Known(Some(want)), Some(id)) => match failover::holds(ctx.clients.route53.as_ref(), &id, &want).await {
                Ok(true) => Val::Known(id),
                Ok(false) => Val::Null,
                Err(e) => return Applied { state: Some(state), diags: common::error_from(&e, None, "Reading the switch's health check") },
            },
            (Val::Known(Some(_)), None) => Val::Null,
            (_, attached) => attached.into(),
        };
        if state.green_health_check_id.is_null() {
            if let Some(was) = was {
                private.replaced_health_check = Some(was);
            }
        }
        refresh_side(&mut state.blue, observed.blue.as_ref());
        refresh_side(&mut state.green, observed.green.as_ref());
        let split = observed.split().unwrap_or(TrafficSplit::ALL_BLUE);
        state.set_split(Some(split));
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
            // The guard comes along; the next apply keeps it when it is the one configured.
            green_health_check_id: green.health_check_id.clone().into(),
            ..SwitchModel::default()
        };
        let split = observed.split().unwrap_or(TrafficSplit::ALL_BLUE);
        m.set_split(Some(split));
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
            if sa.evaluate_target_health.known() != Some(&ra.evaluate_target_health) {
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
            if s.records.known().map(|mine| Destination::values(mine)) != Some(Destination::values(&real.records)) {
                s.records = Val::Known(real.records.clone());
            }
            if s.ttl.known() != real.ttl.as_ref() {
                s.ttl = real.ttl.into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::common::{HealthGateModel, SwitchRolloutModel};
    use bluegreen_core::aws::route53::Routing;
    use bluegreen_core::aws::AwsClients;
    use bluegreen_core::testing::{FakeElbv2, FakeRoute53};
    use bluegreen_core::zone::Zones;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    const Z: &str = "ZFAKE1";

    fn alias(name: &str) -> Option<AliasModel> {
        Some(AliasModel { name: Val::Known(name.into()), zone_id: Val::Known("Z35SXDOTRQ7X7K".into()), evaluate_target_health: Val::Null })
    }

    /// A switch between two aliases, with the defaults the adapter fills in.
    pub(super) fn model(traffic: i64) -> SwitchModel {
        crate::resource::with_defaults::<SwitchResource>(SwitchModel {
            zone_id: Val::Known(Z.into()),
            name: Val::Known("api.example.com".into()),
            blue: Some(SideModel { alias: alias("legacy-1.elb.amazonaws.com"), ..SideModel::default() }),
            green: Some(SideModel { alias: alias("ecs-1.elb.amazonaws.com"), ..SideModel::default() }),
            traffic: Val::Known(traffic),
            ..SwitchModel::default()
        })
    }

    #[tokio::test]
    async fn name_spelling_does_not_replace_but_zone_and_type_do() {
        let prior = model(0);
        let mut p = model(0);
        p.name = Val::Known("API.Example.com.".into());
        assert!(replace_paths::<SwitchResource>(&prior, &p).is_empty());
        let mut p = model(0);
        p.zone_id = Val::Known("ZOTHER".into());
        assert_eq!(replace_paths::<SwitchResource>(&prior, &p), vec![attr_path(&["zone_id"])]);
        let mut p = model(0);
        p.r#type = Val::Known("AAAA".into());
        assert_eq!(replace_paths::<SwitchResource>(&prior, &p), vec![attr_path(&["type"])]);
    }

    #[tokio::test]
    async fn plan_knows_the_weights_and_marks_change_id() {
        let mut prior = model(0);
        prior.change_id = Val::Known("C1".into());
        let mut p = prior.clone();
        p.traffic = Val::Known(30);
        let planned = SwitchResource::plan(None, Some(&prior), p, &mut SwitchPrivate::default()).await.model;
        assert_eq!((planned.blue_weight, planned.green_weight), (Val::Known(70), Val::Known(30)));
        assert_eq!(planned.active, Val::Known("split".into()));
        assert!(planned.change_id.is_unknown());
        let unchanged = SwitchResource::plan(None, Some(&prior), prior.clone(), &mut SwitchPrivate::default()).await.model;
        assert_eq!(unchanged.change_id, Val::Known("C1".into()));
        assert_eq!(unchanged.id, Val::Known("ZFAKE1/api.example.com/A/blue/green".into()));
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
        let created = SwitchResource::create(&ctx, model(0), &mut SwitchPrivate::default()).await;
        assert!(created.diags.is_empty(), "{:?}", created.diags);
        let prior = created.state.unwrap();

        let mut planned = prior.clone();
        planned.traffic = Val::Known(100);
        planned.rollout =
            Some(SwitchRolloutModel { observed_traffic: None, steps: Val::Known(vec![10, 50]), bake_time: Val::Known("10m".into()) });
        planned.health_gate = Some(HealthGateModel { target_group_arns: Val::Known(vec!["arn:tg".into()]), ..HealthGateModel::default() });
        let planned = crate::resource::with_defaults::<SwitchResource>(planned);
        let elb2 = elb.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(700)).await;
            elb2.set_health("arn:tg", vec!["unhealthy"]);
        });
        let applied = SwitchResource::update(&ctx, prior, planned, &mut SwitchPrivate::default()).await;
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

    /// Terraform's StopProvider, `secs` seconds (virtual) from now.
    fn stop_after(ctx: &Ctx, secs: u64) {
        let stop = ctx.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            stop.cancel();
        });
    }

    /// A rollout through 25 % whose bake outlasts the stop.
    fn one_step_baked_an_hour() -> Option<SwitchRolloutModel> {
        Some(SwitchRolloutModel { observed_traffic: None, steps: Val::Known(vec![25]), bake_time: Val::Known("1h".into()) })
    }

    #[tokio::test(start_paused = true)]
    async fn stop_during_a_bake_keeps_the_step_reached() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let prior = SwitchResource::create(&ctx, model(0), &mut SwitchPrivate::default()).await.state.unwrap();
        let mut planned = prior.clone();
        planned.traffic = Val::Known(100);
        planned.rollout = one_step_baked_an_hour();
        stop_after(&ctx, 60);
        let applied = SwitchResource::update(&ctx, prior, planned, &mut SwitchPrivate::default()).await;
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
        stop_after(&ctx, 5);
        let applied = SwitchResource::create(&ctx, model(30), &mut SwitchPrivate::default()).await;
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
        planned.rollout = one_step_baked_an_hour();
        stop_after(&ctx, 60);
        let applied = SwitchResource::create(&ctx, planned, &mut SwitchPrivate::default()).await;
        assert_eq!(applied.state.unwrap().traffic, Val::Known(25));
        assert!(applied.diags.has_errors(), "{:?}", applied.diags);
        assert_eq!(applied.diags.0[0].summary, "Stopped at 25% green");
    }
}
