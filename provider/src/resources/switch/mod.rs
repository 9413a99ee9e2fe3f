//! `bluegreen_switch`: a zero-downtime Route 53 cutover between a blue
//! (legacy) and a green (new) weighted record set for one name.

mod model;

use std::sync::Arc;

use async_trait::async_trait;
use bluegreen_core::aws::route53::ChangeInfo;
use bluegreen_core::aws::route53::{AliasTarget, RecordType};
use bluegreen_core::cutover::{self, Cutover, Updated};
use bluegreen_core::dns::{canonical_name, display_name};
use bluegreen_core::engine::{ShiftOutcome, ShiftPlan};
use bluegreen_core::failover::{self, DnsFailover};
use bluegreen_core::gate::AwsGateProbe;
use bluegreen_core::switch::{self as dns_switch, Destination, DnsCutover, Observed, OnDestroy, PriorPair, Side, SwitchSpec, Target};
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::zone::{SyncOptions, Zone};
use bluegreen_core::{duration, Error, Refusal};

use super::common::{self, Clocked, GateDefaults};
use crate::claims::{ClaimKey, Claimant};
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::{replace_paths, Applied, Ctx, Planned, ReplaceOn, ResourceImpl};
use crate::typed::{not_known_at_apply, Val};
pub use model::*;
use model::{DEFAULT_BLUE_ID, DEFAULT_GREEN_ID};

impl Clocked for SwitchModel {
    fn clock(&self) -> (&Val<i64>, &Val<String>) {
        (&self.green_weight, &self.shifted_at)
    }
    fn clock_mut(&mut self) -> (&mut Val<i64>, &mut Val<String>) {
        (&mut self.traffic, &mut self.shifted_at)
    }
}

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

    /// The engine's plan to the configured traffic, on the clock of the `prior` state; an error for a value that cannot
    /// be converted.
    fn shift_plan(&self, ctx: &Ctx, prior: Option<&SwitchModel>) -> Result<ShiftPlan, Diagnostics> {
        let clock = common::step_clock(
            prior.map(|p| &p.green_weight),
            prior.map(|p| &p.shifted_at),
            self.rollout.as_ref(),
            ctx,
            SwitchResource::TYPE_NAME,
        )?;
        let plan = common::shift_plan(
            &self.traffic,
            self.rollout.as_ref(),
            self.health_gate.as_ref(),
            &GateDefaults::switch(),
            &self.on_gate_failure,
            common::observed_traffic(self.rollout.as_ref(), self.health_gate.as_ref(), SwitchResource::TYPE_NAME)?,
        )?;
        Ok(ShiftPlan { clock, ..plan })
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
    /// The TTL of the `records` simple record the switch adopted: the TTL of a `records` side without a configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adopted_ttl: Option<i64>,
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
        if let Some(g) = m.health_gate.as_mut() {
            common::complete_gate(g, false);
        }
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
        private: &mut SwitchPrivate,
    ) -> Planned<SwitchModel> {
        let mut diags = Diagnostics::new();
        let replaced = prior.is_some_and(|p| !replace_paths::<Self>(p, &proposed).is_empty());
        // A create: what it will find at the name, from one cached read, so the plan refuses what apply would, and shows
        // the TTL of the record it adopts. Unread (no configured provider, a failed read, unknown values): apply checks.
        let adopted = if prior.is_none() || replaced {
            let found = match ctx {
                Some(ctx) => check_create(ctx, &proposed, true, &mut diags).await,
                None => None,
            };
            private.adopted_ttl = found.flatten();
            found
        } else {
            Some(private.adopted_ttl)
        };
        for side in [proposed.blue.as_mut(), proposed.green.as_mut()].into_iter().flatten() {
            side.fill_ttl(adopted);
        }
        // CNAME at the apex needs the zone's name: one cached read.
        if let (Some(ctx), Some("CNAME"), Some(name), Some(zone_id)) =
            (ctx, proposed.r#type.known().map(String::as_str), proposed.name.known(), proposed.zone_id.known())
        {
            // A zone that cannot be read (denied GetHostedZone, no such zone) fails the plan: the check is not skipped.
            match ctx.zones.zone(zone_id).info().await {
                Ok(info) if canonical_name(name) == info.name => {
                    diags.error_at(
                        attr_path(&["name"]),
                        "CNAME at a zone apex",
                        format!(
                            "{} is the apex of zone {zone_id}; a CNAME cannot be there. Use type A or AAAA with an alias.",
                            display_name(name)
                        ),
                    );
                }
                Ok(_) => {}
                Err(e) => report(&mut diags, &e, Some(attr_path(&["zone_id"])), "Checking the zone apex for a CNAME"),
            }
        }
        if let Some(ctx) = ctx {
            check_claim(ctx, &proposed, &mut diags);
        }
        let traffic_changes = prior.is_none_or(|p| p.traffic != proposed.traffic);
        let targets_change = prior.is_none_or(|p| p.blue != proposed.blue || p.green != proposed.green);
        // Computed-only attributes: derived from the configuration, or the prior change id while nothing is written.
        proposed.id = proposed.compute_id();
        proposed.change_id = match prior {
            Some(p) if !(traffic_changes || targets_change || replaced) => p.change_id.clone(),
            _ => Val::Unknown,
        };
        // The weights and the step's clock (see common::plan_split).
        let kept = prior.filter(|_| !replaced).map(|p| common::PriorSplit {
            traffic: &p.traffic,
            blue_weight: &p.blue_weight,
            green_weight: &p.green_weight,
            active: &p.active,
            shifted_at: &p.shifted_at,
        });
        (proposed.blue_weight, proposed.green_weight, proposed.active, proposed.shifted_at) =
            common::plan_split(kept, &proposed.traffic, proposed.rollout.as_ref(), ctx);
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

    async fn create(ctx: &Ctx, mut planned: SwitchModel, private: &mut SwitchPrivate) -> Applied<SwitchModel> {
        // The plan could not read what the switch adopts (see plan): read it now, before anything is written.
        let unknown_ttl = [&planned.blue, &planned.green].into_iter().flatten().any(|s| s.ttl.is_unknown());
        if unknown_ttl {
            let mut diags = Diagnostics::new();
            let Some(adopted) = check_create(ctx, &planned, false, &mut diags).await else {
                if !diags.has_errors() {
                    diags.extend(not_known_at_apply(SwitchResource::TYPE_NAME));
                }
                return Applied { state: None, diags };
            };
            private.adopted_ttl = adopted;
            for side in [planned.blue.as_mut(), planned.green.as_mut()].into_iter().flatten() {
                if side.ttl.is_unknown() {
                    side.ttl = Val::Null;
                    side.fill_ttl(Some(adopted));
                }
            }
        }
        let cutover = match planned.cutover(ctx) {
            Ok(c) => c,
            Err(diags) => return Applied { state: None, diags },
        };
        let plan = match planned.shift_plan(ctx, None) {
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
        let traffic = planned.traffic.clone();
        let state = kept.map(|k| {
            let change = last_change(&k.writes).or(Some(k.made.change.id.clone()).filter(|c| !c.is_empty()));
            planned
                .with_reality(k.at, change, &k.made)
                .with_clock(common::shifted_at(None, None, k.at, Some(k.shifted_at)), k.paused.then_some(&traffic))
        });
        Applied { state, diags }
    }

    async fn update(ctx: &Ctx, prior: SwitchModel, planned: SwitchModel, private: &mut SwitchPrivate) -> Applied<SwitchModel> {
        let (cutover, plan) = match (planned.cutover(ctx), planned.shift_plan(ctx, Some(&prior))) {
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
            Updated::NotReconciled { at, error, in_place } => {
                let shifted_at = prior.shifted_at_from(at, None);
                Applied {
                    state: Some(prior.with_reality(at, None, &in_place).with_clock(shifted_at, None)),
                    diags: common::error_from(&error, None, "Updating the record sets"),
                }
            }
            Updated::Unsettled { made, at, error } => {
                let mut diags = Diagnostics::new();
                report(&mut diags, &error, None, "Waiting for Route 53");
                let shifted_at = prior.shifted_at_from(at, None);
                Applied { state: Some(planned.with_reality(at, Some(made.change.id.clone()), &made).with_clock(shifted_at, None)), diags }
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
                let shifted_at = prior.shifted_at_from(report.at, report.shifted_at);
                let paused = matches!(report.outcome, ShiftOutcome::Paused(_));
                let traffic = model.traffic.clone();
                let state =
                    model.with_reality(report.at, last_change(&report.writes), &made).with_clock(shifted_at, paused.then_some(&traffic));
                Applied { state: Some(state), diags }
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
        state.shifted_at = state.shifted_at_from(split, None);
        state.set_split(Some(split));
        if state.id.is_null() {
            state.id = state.compute_id();
        }
        Applied { state: Some(state), diags: Diagnostics::new() }
    }

    async fn import(ctx: &Ctx, id: &str) -> Result<SwitchModel, Diagnostics> {
        // Route 53 (and its console) spell zone ids `/hostedzone/Z…`: accepted, and kept as spelled.
        let (zone_prefix, rest) = id.strip_prefix("/hostedzone/").map_or(("", id), |rest| ("/hostedzone/", rest));
        let parts: Vec<&str> = rest.split('/').collect();
        let (zone_id, name, rtype, blue_id, green_id) = match parts.as_slice() {
            [z, n, t] => (*z, *n, *t, DEFAULT_BLUE_ID, DEFAULT_GREEN_ID),
            [z, n, t, b, g] => (*z, *n, *t, *b, *g),
            _ => {
                let mut d = Diagnostics::new();
                d.error(
                    "Invalid import id",
                    format!("{id:?} is not <zone_id>/<name>/<type> or <zone_id>/<name>/<type>/<blue set_identifier>/<green set_identifier>, e.g. Z0123456789ABCDEFGHIJ/api.example.com/A/blue/green (the zone id may start with /hostedzone/)."),
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
        let zone_id = format!("{zone_prefix}{zone_id}");
        let zone_id = zone_id.as_str();
        let zone = ctx.zones.zone(zone_id);
        let observed = dns_switch::observe(&zone, name, &rt, blue_id, green_id)
            .await
            .map_err(|e| common::error_from(&e, None, "Importing the switch"))?;
        let (Some(blue), Some(green)) = (&observed.blue, &observed.green) else {
            let mut d = Diagnostics::new();
            d.error(
                "Nothing to import",
                format!(
                    "{} {} in zone {zone_id} has no weighted pair with set identifiers {blue_id:?} and {green_id:?} (found {}).{}",
                    rtype,
                    display_name(name),
                    describe_found(&observed),
                    if observed.others.iter().any(|r| r.set_identifier().is_none()) {
                        " A simple record is not a switch, so there is nothing to import: keep the configuration, set \
                         adopt_existing = true and apply. The create replaces the record with the weighted pair in one atomic \
                         change (the record must point where `blue` points)."
                    } else {
                        ""
                    }
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
        m.shifted_at = common::shifted_at(None, None, split, None);
        m.id = m.compute_id();
        Ok(m)
    }
}

/// What a create of `m` would find at the name: `Some(ttl)` when the create can go ahead (the TTL of the `records`
/// simple record it adopts, if any), `None` when that cannot be known yet (unknown values, a failed read: apply reads
/// again), with the refusal the create would meet in `diags`, pointing at the attribute to change.
async fn check_create(ctx: &Ctx, m: &SwitchModel, at_plan: bool, diags: &mut Diagnostics) -> Option<Option<i64>> {
    let adopt = *m.adopt_existing.known()?;
    // The TTL plays no part in what the create finds; any value makes the sides convertible.
    let mut probe = m.clone();
    for side in [probe.blue.as_mut(), probe.green.as_mut()].into_iter().flatten() {
        side.fill_ttl(Some(None));
    }
    let spec = probe.spec().ok()?;
    match dns_switch::check_create(&m.zone(ctx), &spec, adopt).await {
        Ok(adopted) => Some(adopted.filter(|r| r.alias.is_none()).and_then(|r| r.ttl)),
        // At plan, the pair under the switch's own set identifiers may be this switch's: Terraform plans a tainted
        // switch as a new one while its records still stand, and removes them before the create (which then adopts
        // nothing). The apply checks with what is there then, and refuses a pair it did not make.
        Err(Error::Refused { kind: Refusal::WeightedRecordExists, .. }) if at_plan => Some(None),
        Err(e @ Error::Refused { kind, .. }) => {
            let path = match kind {
                Refusal::RecordExists | Refusal::RecordPointsElsewhere => attr_path(&["adopt_existing"]),
                _ => attr_path(&["name"]),
            };
            diags.extend(common::error_from(&e, Some(path), "Creating the switch"));
            None
        }
        Err(_) => None,
    }
}

/// Registers the name this switch manages with the plan's other resources; a second switch on the same zone, name
/// and type (any spelling, any set identifiers: Route 53 keeps one weighted set per name and type) is an error.
fn check_claim(ctx: &Ctx, m: &SwitchModel, diags: &mut Diagnostics) {
    let (Some(zone), Some(name), Some(rtype)) = (m.zone_id.known(), m.name.known(), m.record_type()) else { return };
    let fingerprint = serde_json::to_string(&(&m.zone_id, &m.name, &m.r#type, &m.blue, &m.green)).unwrap_or_default();
    let key = ClaimKey::RecordSet {
        zone: bluegreen_core::dns::bare_id(zone).to_string(),
        name: canonical_name(name),
        record_type: rtype.as_str().to_string(),
    };
    if let Some(other) = ctx.claims.claim(key, Claimant { fingerprint, spelling: name.clone() }) {
        diags.error_at(
            attr_path(&["name"]),
            "Two switches manage one name",
            format!(
                "{rtype} {} in zone {zone} is also managed by another bluegreen_switch in this configuration, whose name is \
                 spelled {:?}. Route 53 keeps one weighted set per name and type: two switches would each write their own \
                 weights and undo the other's on every apply. Keep one switch for the name (remove the other, or use a `moved` \
                 block if it was renamed).",
                display_name(name),
                other.spelling
            ),
        );
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

    /// The CNAME-at-apex check needs the zone's name: a denied GetHostedZone fails the plan at zone_id, naming
    /// the action, instead of skipping the check.
    #[tokio::test]
    async fn a_denied_get_hosted_zone_fails_the_cname_plan() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let cname = |name: &str| {
            let mut m = model(0);
            m.r#type = Val::Known("CNAME".into());
            m.name = Val::Known(name.into());
            m
        };
        r53.fault("GetHostedZone", bluegreen_core::testing::Fault::Fail(bluegreen_core::AwsErrorKind::Auth, "AccessDenied"));
        let planned = SwitchResource::plan(Some(&ctx), None, cname("www.example.com"), &mut SwitchPrivate::default()).await;
        let errors: Vec<_> = planned.diags.iter().filter(|d| d.severity == crate::diag::Severity::Error).collect();
        assert_eq!(errors.len(), 1, "{:?}", planned.diags);
        assert!(errors[0].summary.contains("permission denied for route53:GetHostedZone"), "{:?}", errors[0]);
        assert_eq!(errors[0].path, Some(attr_path(&["zone_id"])));
        // Allowed, the check runs: the apex is refused, another name passes.
        assert!(SwitchResource::plan(Some(&ctx), None, cname("example.com"), &mut SwitchPrivate::default()).await.diags.has_errors());
        assert!(!SwitchResource::plan(Some(&ctx), None, cname("www.example.com"), &mut SwitchPrivate::default()).await.diags.has_errors());
    }

    fn ctx(r53: Arc<FakeRoute53>, elb: Arc<FakeElbv2>) -> Ctx {
        let clients = AwsClients {
            route53: r53.clone(),
            elbv2: elb,
            cloudwatch: bluegreen_core::aws::watch::CloudWatchReader::new(Arc::new(bluegreen_core::testing::FakeCloudWatch::default())),
            region: "us-east-1".into(),
            account: None,
            credentials_expire: None,
        };
        Ctx { zones: Arc::new(Zones::new(r53)), clients, stop: CancellationToken::new(), claims: Default::default() }
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
        planned.rollout = Some(SwitchRolloutModel {
            observed_traffic: None,
            steps: Val::Known(vec![10, 50]),
            bake_time: Val::Known("10m".into()),
            max_wait_per_apply: Val::Null,
        });
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
        Some(SwitchRolloutModel {
            observed_traffic: None,
            steps: Val::Known(vec![25]),
            bake_time: Val::Known("1h".into()),
            max_wait_per_apply: Val::Null,
        })
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
    async fn an_apply_after_a_stop_bakes_only_the_rest_of_the_step() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let ctx1 = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let prior = SwitchResource::create(&ctx1, model(0), &mut SwitchPrivate::default()).await.state.unwrap();
        let mut planned = prior.clone();
        planned.traffic = Val::Known(100);
        planned.rollout = one_step_baked_an_hour();
        stop_after(&ctx1, 600);
        let stopped = SwitchResource::update(&ctx1, prior, planned.clone(), &mut SwitchPrivate::default()).await.state.unwrap();
        assert_eq!((stopped.traffic.clone(), stopped.green_weight.clone()), (Val::Known(25), Val::Known(25)));
        let reached = bluegreen_core::clock::parse(stopped.shifted_at.known().unwrap()).unwrap();
        // Refresh 20 minutes later keeps the step's clock: the split did not change.
        tokio::time::sleep(Duration::from_secs(1200)).await;
        let ctx2 = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let refreshed = SwitchResource::read(&ctx2, stopped, &mut SwitchPrivate::default()).await.state.unwrap();
        assert_eq!(refreshed.shifted_at, Val::Known(bluegreen_core::clock::format(reached)));
        // 10 minutes baked before the stop, 20 between the applies: the next apply waits the 30 minutes left, not an hour.
        let started = tokio::time::Instant::now();
        let applied = SwitchResource::update(&ctx2, refreshed, planned, &mut SwitchPrivate::default()).await;
        assert!(applied.diags.is_empty(), "{:?}", applied.diags);
        let waited = started.elapsed().as_secs();
        assert!((1800..1810).contains(&waited), "waited {waited} s");
        let state = applied.state.unwrap();
        assert_eq!(state.green_weight, Val::Known(100));
        let at_100 = bluegreen_core::clock::parse(state.shifted_at.known().unwrap()).unwrap();
        assert_eq!(bluegreen_core::clock::since(at_100, reached).as_secs() / 60, 60, "reached 100 % an hour after 25 %");
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_rollout_succeeds_with_the_configured_traffic_and_the_real_weights() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let prior = SwitchResource::create(&ctx, model(0), &mut SwitchPrivate::default()).await.state.unwrap();
        let mut config = prior.clone();
        config.traffic = Val::Known(100);
        config.rollout = Some(SwitchRolloutModel { max_wait_per_apply: Val::Known("0s".into()), ..one_step_baked_an_hour().unwrap() });
        let planned = SwitchResource::plan(None, Some(&prior), config, &mut SwitchPrivate::default()).await.model;
        assert_eq!((planned.green_weight.clone(), planned.shifted_at.clone()), (Val::Unknown, Val::Unknown), "the apply may pause");
        let applied = SwitchResource::update(&ctx, prior, planned.clone(), &mut SwitchPrivate::default()).await;
        let state = applied.state.unwrap();
        assert_eq!(
            (state.traffic.clone(), state.green_weight.clone(), state.active.clone()),
            (Val::Known(100), Val::Known(25), Val::Known("split".into()))
        );
        let d = &applied.diags.0[0];
        assert_eq!(
            (d.severity, d.summary.as_str()),
            (crate::diag::Severity::Warning, "Rollout paused at 25% green (step 25 of rollout.steps)")
        );
        let reached = state.shifted_at.known().unwrap().clone();
        let ready = bluegreen_core::clock::format(bluegreen_core::clock::parse(&reached).unwrap() + Duration::from_secs(3600));
        assert!(d.detail.contains(&format!("Apply again after {ready} to go on toward 100%")), "{}", d.detail);
        assert!(d.detail.contains("rollout.max_wait_per_apply = \"0s\""), "{}", d.detail);
        println!("Warning: {}\n\n{}", d.summary, d.detail);

        // Refresh reads the real split into traffic: the next plan shows the rest of the way.
        let refreshed = SwitchResource::read(&ctx, state, &mut SwitchPrivate::default()).await.state.unwrap();
        assert_eq!((refreshed.traffic.clone(), refreshed.shifted_at.clone()), (Val::Known(25), Val::Known(reached)));
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_that_expire_before_a_bake_would_end_pause_the_rollout_and_say_why() {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(Z, "example.com");
        let mut ctx = ctx(r53.clone(), Arc::new(FakeElbv2::default()));
        let expiry = bluegreen_core::clock::now() + Duration::from_secs(20 * 60);
        ctx.clients.credentials_expire = Some(expiry);
        let prior = SwitchResource::create(&ctx, model(0), &mut SwitchPrivate::default()).await.state.unwrap();
        let mut config = prior.clone();
        config.traffic = Val::Known(100);
        config.rollout = one_step_baked_an_hour();
        let planned = SwitchResource::plan(Some(&ctx), Some(&prior), config, &mut SwitchPrivate::default()).await.model;
        assert_eq!(planned.green_weight, Val::Unknown, "the apply may pause");
        let applied = SwitchResource::update(&ctx, prior, planned, &mut SwitchPrivate::default()).await;
        let state = applied.state.unwrap();
        assert_eq!((state.traffic, state.green_weight), (Val::Known(100), Val::Known(25)));
        let d = &applied.diags.0[0];
        assert_eq!(d.summary, "Rollout paused at 25% green (step 25 of rollout.steps)");
        let expires = bluegreen_core::clock::format(expiry);
        assert!(d.detail.contains(&format!("the AWS credentials expire at {expires} and cannot be renewed")), "{}", d.detail);
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
