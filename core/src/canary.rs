//! The ALB canary: one listener rule forwards a weighted share of requests to
//! green and the rest to blue; an optional higher-priority rule sends
//! requests carrying a test header to green only, so QA reaches green before
//! and during the shift.

use std::sync::Arc;

use async_trait::async_trait;

use crate::aws::elbv2::{Condition, Elbv2Api, Forward, Rule};
use crate::cutover::{Cutover, Destroyed, Reconciled};
use crate::engine::TrafficRouter;
use crate::error::{AwsErrorKind, Error, Refusal, Result};
use crate::readback;
use crate::traffic::{TrafficSplit, Weights};

#[derive(Debug, Clone, PartialEq, Eq)]
/// A second rule that sends requests carrying a header to green only (for testing green before users reach it).
pub struct TestRoute {
    /// The HTTP header to match, e.g. `X-Canary`.
    pub header_name: String,
    /// Header values that match (any one).
    pub header_values: Vec<String>,
    /// The test rule's priority on the listener (1–50000, unique per listener).
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A canary: a listener rule whose forward action splits requests between two target groups by weight.
pub struct CanarySpec {
    /// The ALB listener the rule is on.
    pub listener_arn: String,
    /// The rule's priority on the listener (1–50000, unique per listener).
    pub priority: i32,
    /// Host-header conditions of the rule; empty: any host.
    pub hosts: Vec<String>,
    /// Path-pattern conditions of the rule; empty: any path.
    pub paths: Vec<String>,
    /// The target group blue (legacy) requests go to.
    pub blue_target_group: String,
    /// The target group green (new) requests go to.
    pub green_target_group: String,
    /// An optional header-matched rule sending requests to green only.
    pub test_route: Option<TestRoute>,
    /// Target-group stickiness of the forward action, in seconds; `None`: off.
    pub stickiness_seconds: Option<i32>,
}

impl CanarySpec {
    /// The main rule's conditions. A rule needs at least one, so "all
    /// requests" is the path pattern `/*`.
    pub fn conditions(&self) -> Vec<Condition> {
        let mut c = Vec::new();
        if !self.hosts.is_empty() {
            c.push(Condition::HostHeader(self.hosts.clone()));
        }
        if !self.paths.is_empty() {
            c.push(Condition::PathPattern(self.paths.clone()));
        }
        if c.is_empty() {
            c.push(Condition::PathPattern(vec!["/*".into()]));
        }
        c
    }

    /// The weighted forward action that sends `split` of the requests to green.
    pub fn forward(&self, split: TrafficSplit) -> Forward {
        let w = split.weights();
        Forward {
            target_groups: vec![(self.blue_target_group.clone(), w.blue as i32), (self.green_target_group.clone(), w.green as i32)],
            stickiness_seconds: self.stickiness_seconds,
        }
    }

    fn test_conditions(&self, t: &TestRoute) -> Vec<Condition> {
        let mut c: Vec<Condition> =
            self.conditions().into_iter().filter(|c| !matches!(c, Condition::PathPattern(p) if p == &["/*".to_string()])).collect();
        c.push(Condition::HttpHeader { name: t.header_name.clone(), values: t.header_values.clone() });
        c
    }

    fn green_only(&self) -> Forward {
        Forward { target_groups: vec![(self.green_target_group.clone(), 1)], stickiness_seconds: None }
    }

    fn only(&self, tg: &str) -> Forward {
        Forward { target_groups: vec![(tg.to_string(), 1)], stickiness_seconds: None }
    }
}

/// The rules a canary owns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CanaryIds {
    /// The ARN of the weighted rule.
    pub rule_arn: String,
    /// The ARN of the test-route rule, if there is one.
    pub test_rule_arn: Option<String>,
}

/// What the listener holds for a canary.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The weighted rule, if it is on the listener.
    pub rule: Option<Rule>,
    /// The test-route rule, if it is on the listener.
    pub test_rule: Option<Rule>,
}

/// Weight a rule's forward action gives `tg`; 0 when absent.
fn weight_in(rule: &Rule, tg: &str) -> u32 {
    rule.actions
        .iter()
        .filter(|a| a.action_type == "forward")
        .flat_map(|a| a.target_groups.iter())
        .filter(|t| t.arn == tg)
        .map(|t| t.weight.unwrap_or(1).max(0) as u32)
        .sum()
}

impl Observed {
    /// The split the main rule really applies.
    pub fn split(&self, blue_tg: &str, green_tg: &str) -> Option<TrafficSplit> {
        let r = self.rule.as_ref()?;
        Some(Weights { blue: weight_in(r, blue_tg), green: weight_in(r, green_tg) }.split())
    }
}

/// Reads the canary's rules (by ARN) from the listener.
pub async fn observe(api: &dyn Elbv2Api, listener_arn: &str, ids: &CanaryIds) -> Result<Observed> {
    let rules = match api.describe_rules(listener_arn).await {
        Ok(r) => r,
        Err(e) if e.kind == AwsErrorKind::NotFound => return Ok(Observed::default()),
        Err(e) => return Err(e.into()),
    };
    let find = |arn: &str| rules.iter().find(|r| r.arn == arn).cloned();
    Ok(Observed { rule: find(&ids.rule_arn), test_rule: ids.test_rule_arn.as_deref().and_then(find) })
}

fn refused(kind: Refusal, found: String) -> Error {
    Error::Refused { kind, found, set_identifiers: None }
}

/// Whether a create (or an update, with the canary's own rules in `ids`) would find its priorities taken, from one
/// read of the listener's rules and without a write: the refusal it would meet. For checking at plan time.
///
/// A rule that may be this canary's own predecessor (its conditions, forwarding only to the canary's target groups) is
/// not judged here: Terraform plans a tainted canary as a new one while its rules still stand, and removes them before
/// the create. The apply checks again, with what is there then.
pub async fn check_priorities_free(api: &dyn Elbv2Api, spec: &CanarySpec, ids: &CanaryIds) -> Result<()> {
    let rules = api.describe_rules(&spec.listener_arn).await?;
    let tgs = [spec.blue_target_group.as_str(), spec.green_target_group.as_str()];
    let maybe_ours = |r: &Rule| {
        let conditions = if r.priority == Some(spec.priority) {
            spec.conditions()
        } else {
            spec.test_route.as_ref().map(|t| spec.test_conditions(t)).unwrap_or_default()
        };
        let same_conditions = r.conditions.len() == conditions.len() && conditions.iter().all(|c| r.conditions.contains(c));
        let forwards: Vec<&str> =
            r.actions.iter().filter(|a| a.action_type == "forward").flat_map(|a| a.target_groups.iter()).map(|t| t.arn.as_str()).collect();
        same_conditions && !forwards.is_empty() && forwards.iter().all(|f| tgs.contains(f))
    };
    let mine: Vec<&str> = std::iter::once(ids.rule_arn.as_str())
        .chain(ids.test_rule_arn.as_deref())
        .filter(|a| !a.is_empty())
        .chain(rules.iter().filter(|r| maybe_ours(r)).map(|r| r.arn.as_str()))
        .collect();
    priorities_free(&rules, spec, &mine)
}

/// Checks that the priorities are free on the listener (except for rules in `mine`).
async fn check_priorities(api: &dyn Elbv2Api, spec: &CanarySpec, mine: &[&str]) -> Result<Vec<Rule>> {
    let rules = api.describe_rules(&spec.listener_arn).await?;
    priorities_free(&rules, spec, mine)?;
    Ok(rules)
}

/// The refusal a canary at `spec`'s priorities meets among `rules` (but for rules in `mine`).
fn priorities_free(rules: &[Rule], spec: &CanarySpec, mine: &[&str]) -> Result<()> {
    let wanted = std::iter::once((spec.priority, false)).chain(spec.test_route.as_ref().map(|t| (t.priority, true)));
    for (p, test) in wanted {
        if let Some(holder) = rules.iter().find(|r| r.priority == Some(p) && !mine.contains(&r.arn.as_str())) {
            let which = if test { format!("The test route's priority {p}") } else { format!("Priority {p}") };
            return Err(refused(
                if test { Refusal::TestPriorityInUse } else { Refusal::PriorityInUse },
                format!("{which} on this listener is held by rule {}, which this configuration does not own.", holder.arn),
            ));
        }
    }
    Ok(())
}

/// Whether `rule` holds exactly these conditions (in any order) and forwards
/// exactly as `forward` says.
fn is_rule(rule: &Rule, conditions: &[Condition], forward: &Forward) -> bool {
    let same_conditions = rule.conditions.len() == conditions.len() && conditions.iter().all(|c| rule.conditions.contains(c));
    let forwarded: usize = rule.actions.iter().filter(|a| a.action_type == "forward").map(|a| a.target_groups.len()).sum();
    same_conditions
        && forwarded == forward.target_groups.len()
        && forward.target_groups.iter().all(|(tg, w)| weight_in(rule, tg) == (*w).max(0) as u32)
}

/// CreateRule, read back when its outcome is unknown. AWS may have created
/// the rule and lost the answer (the SDK's retry then meets the priority
/// taken); the priority was free just before (see `check_priorities`), so
/// a rule at it with exactly these conditions and this forward action is
/// the one this call made, and is taken instead of left behind as a rule
/// no configuration owns.
async fn create_rule(api: &dyn Elbv2Api, listener_arn: &str, priority: i32, conditions: &[Condition], forward: &Forward) -> Result<Rule> {
    let read_back = || async {
        let rules = api.describe_rules(listener_arn).await?;
        Ok(rules.into_iter().find(|r| r.priority == Some(priority) && is_rule(r, conditions, forward)))
    };
    readback::confirm(
        api.create_rule(listener_arn, priority, conditions, forward).await,
        Some("PriorityInUse"),
        read_back,
        "CreateRule was not confirmed, but the rule is there; not creating it again",
    )
    .await
}

/// Creates the rules. If the test rule cannot be created the main rule is
/// removed again, so nothing is left half made.
pub async fn create(api: &dyn Elbv2Api, spec: &CanarySpec, split: TrafficSplit) -> Result<CanaryIds> {
    check_priorities(api, spec, &[]).await?;
    let main = create_rule(api, &spec.listener_arn, spec.priority, &spec.conditions(), &spec.forward(split)).await?;
    let mut ids = CanaryIds { rule_arn: main.arn, test_rule_arn: None };
    if let Some(t) = &spec.test_route {
        match create_rule(api, &spec.listener_arn, t.priority, &spec.test_conditions(t), &spec.green_only()).await {
            Ok(r) => ids.test_rule_arn = Some(r.arn),
            Err(e) => {
                if let Err(cleanup) = api.delete_rule(&ids.rule_arn).await {
                    tracing::warn!(error = %cleanup, rule = %ids.rule_arn, "could not remove the main rule after the test rule failed");
                }
                return Err(e);
            }
        }
    }
    Ok(ids)
}

/// Brings the rules in line with `spec` at `split`: priorities (without
/// recreating rules), whole condition and action lists, the test rule added,
/// changed or removed. Returns the new ids.
pub async fn update(api: &dyn Elbv2Api, prior: &CanarySpec, spec: &CanarySpec, ids: &CanaryIds, split: TrafficSplit) -> Result<CanaryIds> {
    let mut ids = ids.clone();
    let mine: Vec<&str> = std::iter::once(ids.rule_arn.as_str()).chain(ids.test_rule_arn.as_deref()).collect();
    let rules = check_priorities(api, spec, &mine).await?;
    // Rules made before rules were tagged at creation get the tag first: a
    // policy may allow ModifyRule, DeleteRule and SetRulePriorities on tagged rules only.
    let ours: Vec<String> = rules.iter().filter(|r| mine.contains(&r.arn.as_str())).map(|r| r.arn.clone()).collect();
    if !ours.is_empty() {
        api.tag_rules(&ours).await?;
    }
    // The weighted rule was deleted out of band: create it again (at the
    // current split) beside our surviving test rule.
    if !rules.iter().any(|r| r.arn == ids.rule_arn) {
        let r = create_rule(api, &spec.listener_arn, spec.priority, &spec.conditions(), &spec.forward(split)).await?;
        ids.rule_arn = r.arn;
        return finish_test_rule(api, spec, ids, &rules).await;
    }
    let mut moves = Vec::new();
    if prior.priority != spec.priority {
        moves.push((ids.rule_arn.clone(), spec.priority));
    }
    if let (Some(arn), Some(old), Some(new)) = (&ids.test_rule_arn, &prior.test_route, &spec.test_route) {
        if old.priority != new.priority {
            moves.push((arn.clone(), new.priority));
        }
    }
    if !moves.is_empty() {
        api.set_rule_priorities(&moves).await?;
    }
    // Only what differs is written: an update that changes `traffic` alone leaves the rules as they are, and the
    // shift that follows writes the weights once.
    let (conditions, forward) = (spec.conditions(), spec.forward(split));
    if !rules.iter().any(|r| r.arn == ids.rule_arn && rule_is(r, &conditions, &forward)) {
        api.modify_rule(&ids.rule_arn, &conditions, &forward).await?;
    }
    finish_test_rule(api, spec, ids, &rules).await
}

/// Whether `rule` already is what an update would write: [`is_rule`] (these conditions, these target groups and
/// weights), and nothing else: its one action is that forward, with the same stickiness. Another action counts as
/// different.
fn rule_is(rule: &Rule, conditions: &[Condition], forward: &Forward) -> bool {
    let [action] = rule.actions.as_slice() else { return false };
    action.action_type == "forward" && action.stickiness_seconds == forward.stickiness_seconds && is_rule(rule, conditions, forward)
}

/// Adds, rewrites or removes the test rule to match `spec`.
async fn finish_test_rule(api: &dyn Elbv2Api, spec: &CanarySpec, mut ids: CanaryIds, rules: &[Rule]) -> Result<CanaryIds> {
    let existing = ids.test_rule_arn.clone().filter(|arn| rules.iter().any(|r| &r.arn == arn));
    match (&spec.test_route, existing) {
        (Some(t), Some(arn)) => {
            let (conditions, forward) = (spec.test_conditions(t), spec.green_only());
            if !rules.iter().any(|r| r.arn == arn && rule_is(r, &conditions, &forward)) {
                api.modify_rule(&arn, &conditions, &forward).await?;
            }
        }
        (Some(t), None) => {
            let r = create_rule(api, &spec.listener_arn, t.priority, &spec.test_conditions(t), &spec.green_only()).await?;
            ids.test_rule_arn = Some(r.arn);
        }
        (None, Some(arn)) => {
            api.delete_rule(&arn).await?;
            ids.test_rule_arn = None;
        }
        (None, None) => ids.test_rule_arn = None,
    }
    Ok(ids)
}

/// How a destroy finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDestroy {
    /// Remove the rules; refused while green has traffic, which would fall back to the listener's default action.
    Delete,
    /// Leave the side holding 100 % with the requests the canary routed, then remove the canary's rules: see
    /// [`Promotion`].
    Promote,
}

/// Where a promoting destroy leaves the requests the canary's weighted rule routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promotion {
    /// The rule matches every request (`/*`): the listener's default action forwards to the side at 100 %, and the
    /// rules are removed.
    DefaultAction,
    /// The rule matches some requests (hosts or paths): it stays, at its priority and with its conditions, as a plain
    /// forward to the side at 100 %, no longer managed; the test rule is removed and the default action is untouched,
    /// so requests the canary never routed go where they went before.
    PlainRule,
}

impl CanarySpec {
    /// How a promoting destroy of this canary leaves the listener.
    pub fn promotion(&self) -> Promotion {
        if self.hosts.is_empty() && self.paths.is_empty() {
            Promotion::DefaultAction
        } else {
            Promotion::PlainRule
        }
    }
}

/// Removes the canary's rules as `mode` says; refuses when that would move requests at once.
pub async fn destroy(api: &dyn Elbv2Api, spec: &CanarySpec, ids: &CanaryIds, mode: OnDestroy) -> Result<()> {
    let now = observe(api, &spec.listener_arn, ids).await?;
    let mut keep = None;
    if let Some(winner) = destroy_refusal(&now, spec, mode)? {
        match (spec.promotion(), &now.rule) {
            (Promotion::DefaultAction, _) => api.modify_listener_default(&spec.listener_arn, &spec.only(winner)).await?,
            (Promotion::PlainRule, Some(rule)) => {
                // The rule's own conditions, as the listener holds them: it keeps routing exactly what it routed.
                api.modify_rule(&rule.arn, &rule.conditions, &spec.only(winner)).await?;
                keep = Some(rule.arn.as_str());
            }
            (Promotion::PlainRule, None) => {}
        }
    }
    for arn in now.test_rule.iter().chain(now.rule.iter()).map(|r| r.arn.as_str()).filter(|arn| Some(*arn) != keep) {
        match api.delete_rule(arn).await {
            Err(e) if e.kind != AwsErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Whether [`destroy`] would go ahead, from one read and without a write: the
/// refusal it would return, if any. For checking a destroy at plan time.
pub async fn check_destroy(api: &dyn Elbv2Api, spec: &CanarySpec, ids: &CanaryIds, mode: OnDestroy) -> Result<()> {
    let now = observe(api, &spec.listener_arn, ids).await?;
    destroy_refusal(&now, spec, mode).map(|_| ())
}

/// The refusal a destroy meets in `now`, or (promoting) the target group the listener's default action gets.
fn destroy_refusal<'a>(now: &Observed, spec: &'a CanarySpec, mode: OnDestroy) -> Result<Option<&'a String>> {
    let Some(split) = now.split(&spec.blue_target_group, &spec.green_target_group) else { return Ok(None) };
    match mode {
        OnDestroy::Delete if split.green() > 0 => Err(refused(
            Refusal::GreenHasTraffic,
            format!(
                "The canary rule sends {}% of requests to green. Removing it would send them back to the listener's \
                 default action at once.",
                split.green()
            ),
        )),
        OnDestroy::Delete => Ok(None),
        OnDestroy::Promote => match split.green() {
            0 => Ok(Some(&spec.blue_target_group)),
            100 => Ok(Some(&spec.green_target_group)),
            g => Err(refused(
                Refusal::SplitPromote,
                format!(
                    "The canary rule splits requests ({g}% green, {}% blue); promote points the listener's default \
                     action at one side.",
                    100 - g
                ),
            )),
        },
    }
}

/// The canary as a traffic router for the engine. Each write's receipt is
/// the rules it rewrote.
pub struct AlbRouter {
    /// ELBv2, the rules are written through.
    pub api: Arc<dyn Elbv2Api>,
    /// The listener, conditions and target groups.
    pub spec: CanarySpec,
    /// The rules the canary owns.
    pub ids: CanaryIds,
}

#[async_trait]
impl TrafficRouter for AlbRouter {
    type Receipt = CanaryIds;

    async fn observe(&self) -> Result<TrafficSplit> {
        observe(self.api.as_ref(), &self.spec.listener_arn, &self.ids)
            .await?
            .split(&self.spec.blue_target_group, &self.spec.green_target_group)
            .ok_or_else(|| Error::NotFound { what: crate::error::NotFoundKind::ListenerRule, searched: self.ids.rule_arn.clone() })
    }

    /// ALB applies a rule change within seconds; there is nothing to wait for.
    /// When the answer is lost (no answer, a 5xx), the rule is read back: a
    /// change that landed is not an error.
    async fn submit(&self, split: TrafficSplit) -> Result<CanaryIds> {
        let written = self.api.modify_rule(&self.ids.rule_arn, &self.spec.conditions(), &self.spec.forward(split)).await;
        let read_back = || async { Ok((self.observe().await? == split).then_some(())) };
        readback::confirm(
            written.map(|_| ()),
            None,
            read_back,
            &format!("ModifyRule was not confirmed, but the rule already forwards {split}"),
        )
        .await?;
        Ok(self.ids.clone())
    }
}

/// The canary's lifecycle for [`crate::cutover`]. `ids` are the rules of
/// an existing canary (empty before a create); a destroy goes as
/// `on_destroy` says.
pub struct AlbCutover {
    /// ELBv2, the rules are written through.
    pub api: Arc<dyn Elbv2Api>,
    /// The listener, conditions and target groups.
    pub spec: CanarySpec,
    /// The rules of the canary; empty before a create.
    pub ids: CanaryIds,
    /// What a destroy leaves on the listener.
    pub on_destroy: OnDestroy,
}

impl AlbCutover {
    /// A destroy without the rule it made finds nothing to remove and would report success while the rule keeps
    /// routing: the ids a create returned must be here.
    fn known_ids(&self) -> Result<()> {
        if self.ids.rule_arn.is_empty() {
            return Err(Error::Invalid(format!(
                "the canary on listener {} at priority {} has no known rule ARN: destroy needs the ids its create \
                 returned (set AlbCutover::ids); nothing was removed",
                self.spec.listener_arn, self.spec.priority
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Cutover for AlbCutover {
    type Router = AlbRouter;
    type Made = CanaryIds;
    /// The canary as configured before, and its rules.
    type Prior = (CanarySpec, CanaryIds);

    async fn make(&self, split: TrafficSplit) -> Result<CanaryIds> {
        create(self.api.as_ref(), &self.spec, split).await
    }

    fn router(&self, made: &CanaryIds) -> AlbRouter {
        AlbRouter { api: self.api.clone(), spec: self.spec.clone(), ids: made.clone() }
    }

    /// Priorities, conditions, actions and the test rule brought in line at
    /// the split in effect (a weighted rule deleted out of band is created
    /// again there).
    async fn reconcile(&self, (prior, ids): &(CanarySpec, CanaryIds)) -> Reconciled<CanaryIds> {
        let mut ids = ids.clone();
        let observed = match observe(self.api.as_ref(), &self.spec.listener_arn, &ids).await {
            Ok(o) => o,
            Err(e) => return Reconciled::Unread(e),
        };
        ids.test_rule_arn = observed.test_rule.as_ref().map(|r| r.arn.clone());
        let at = observed.split(&prior.blue_target_group, &prior.green_target_group).unwrap_or(TrafficSplit::ALL_BLUE);
        match update(self.api.as_ref(), prior, &self.spec, &ids, at).await {
            Ok(made) => Reconciled::Done { at, made },
            Err(error) => Reconciled::Failed { at, in_place: ids, error },
        }
    }

    /// The rules go; the listener forwards as before.
    async fn unmake(&self, made: &CanaryIds) -> Result<()> {
        destroy(self.api.as_ref(), &self.spec, made, OnDestroy::Delete).await
    }

    async fn check_destroy(&self) -> Result<()> {
        self.known_ids()?;
        check_destroy(self.api.as_ref(), &self.spec, &self.ids, self.on_destroy).await
    }

    async fn destroy(&self, _stop: &tokio_util::sync::CancellationToken) -> Result<Destroyed> {
        self.known_ids()?;
        destroy(self.api.as_ref(), &self.spec, &self.ids, self.on_destroy).await.map(|()| Destroyed::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::elbv2::MANAGED_BY;
    use crate::engine::{shift, OnGateFailure, ShiftOutcome, ShiftPlan};
    use crate::gate::{AwsGateProbe, HealthGate};
    use crate::rollout::Rollout;
    use crate::testing::{FakeElbv2, Fault};
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    const L: &str = "arn:listener/app/legacy/1/2";
    const BLUE: &str = "arn:tg/ec2";
    const GREEN: &str = "arn:tg/ecs";

    fn spec() -> CanarySpec {
        CanarySpec {
            listener_arn: L.into(),
            priority: 100,
            hosts: vec!["api.example.com".into()],
            paths: vec![],
            blue_target_group: BLUE.into(),
            green_target_group: GREEN.into(),
            test_route: Some(TestRoute { header_name: "X-Canary".into(), header_values: vec!["1".into()], priority: 99 }),
            stickiness_seconds: None,
        }
    }

    fn fake() -> Arc<FakeElbv2> {
        let f = Arc::new(FakeElbv2::default());
        f.add_listener(L, Forward { target_groups: vec![(BLUE.into(), 1)], stickiness_seconds: None });
        f.set_health(GREEN, vec!["healthy", "healthy"]);
        f
    }

    fn t(p: u8) -> TrafficSplit {
        TrafficSplit::green_percent(p).unwrap()
    }

    fn weights(f: &FakeElbv2, arn: &str) -> Vec<(String, Option<i32>)> {
        let r = f.rules(L).into_iter().find(|r| r.arn == arn).unwrap();
        r.actions[0].target_groups.iter().map(|t| (t.arn.clone(), t.weight)).collect()
    }

    #[tokio::test]
    async fn create_adds_a_weighted_rule_and_a_header_route_to_green() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(10)).await.unwrap();
        assert_eq!(weights(&f, &ids.rule_arn), [(BLUE.to_string(), Some(90)), (GREEN.to_string(), Some(10))]);
        let test = f.rules(L).into_iter().find(|r| Some(&r.arn) == ids.test_rule_arn.as_ref()).unwrap();
        assert_eq!(test.priority, Some(99));
        assert_eq!(
            test.conditions,
            [
                Condition::HostHeader(vec!["api.example.com".into()]),
                Condition::HttpHeader { name: "X-Canary".into(), values: vec!["1".into()] }
            ]
        );
        assert_eq!(test.actions[0].target_groups.len(), 1);
        assert_eq!(test.actions[0].target_groups[0].arn, GREEN);
    }

    #[tokio::test]
    async fn created_rules_are_tagged_and_older_untagged_ones_get_the_tag_on_the_next_update() {
        let f = fake();
        let managed = || std::collections::BTreeMap::from([(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())]);
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        let test_arn = ids.test_rule_arn.clone().unwrap();
        assert_eq!((f.tags(&ids.rule_arn), f.tags(&test_arn)), (managed(), managed()));
        assert_eq!(f.calls("AddTags"), 0, "tagged at creation, not after");
        // As an earlier version left them: no tags.
        f.untag(&ids.rule_arn);
        f.untag(&test_arn);
        update(f.as_ref(), &spec(), &spec(), &ids, t(20)).await.unwrap();
        assert_eq!((f.tags(&ids.rule_arn), f.tags(&test_arn)), (managed(), managed()));
        assert_eq!(f.calls("AddTags"), 1, "one call for both rules");
        // A rule someone else made at another priority is never tagged.
        let other = f.create_rule(L, 500, &[Condition::PathPattern(vec!["/x".into()])], &spec().forward(t(0))).await.unwrap();
        f.untag(&other.arn);
        update(f.as_ref(), &spec(), &spec(), &ids, t(20)).await.unwrap();
        assert!(f.tags(&other.arn).is_empty(), "a foreign rule was tagged");
    }

    #[tokio::test]
    async fn a_taken_priority_names_the_holder_and_creates_nothing() {
        let f = fake();
        let other = f.create_rule(L, 99, &[Condition::PathPattern(vec!["/x".into()])], &spec().forward(t(0))).await.unwrap();
        let e = create(f.as_ref(), &spec(), t(0)).await.unwrap_err();
        assert!(matches!(e, Error::Refused { kind: Refusal::TestPriorityInUse, .. }), "{e:?}");
        let e = e.to_string();
        assert!(e.starts_with("Test route priority in use: "), "{e}");
        assert!(e.contains("test route's priority 99") && e.contains(&other.arn), "{e}");
        assert_eq!(f.rules(L).len(), 1, "nothing created");
    }

    #[tokio::test]
    async fn a_failing_test_rule_removes_the_main_rule_again() {
        let f = fake();
        f.fault("CreateRule", Fault::Pass);
        f.fault("CreateRule", Fault::Fail(crate::AwsErrorKind::Other, "TooManyRules"));
        assert!(create(f.as_ref(), &spec(), t(0)).await.is_err());
        assert_eq!(f.calls("CreateRule"), 2);
        assert_eq!(f.calls("DeleteRule"), 1);
        assert!(f.rules(L).is_empty(), "nothing left half made");
    }

    /// ELBv2 that carries out a call and then loses the answer (a 5xx after
    /// the effect landed), for the calls named, once each.
    struct LandsThenFails {
        inner: Arc<FakeElbv2>,
        ops: std::sync::Mutex<Vec<&'static str>>,
    }

    impl LandsThenFails {
        fn lose(&self, op: &str) -> Option<crate::error::AwsError> {
            let mut ops = self.ops.lock().unwrap();
            let i = ops.iter().position(|o| *o == op)?;
            ops.remove(i);
            Some(crate::error::AwsError::new("op", crate::AwsErrorKind::Ambiguous, "InternalFailure").with_code("InternalFailure"))
        }
    }

    #[async_trait]
    impl Elbv2Api for LandsThenFails {
        async fn describe_load_balancers(
            &self,
            by: &crate::aws::elbv2::Selector,
        ) -> Result<Vec<crate::aws::elbv2::LoadBalancer>, crate::error::AwsError> {
            self.inner.describe_load_balancers(by).await
        }
        async fn describe_listeners(
            &self,
            by: &crate::aws::elbv2::ListenerSelector,
        ) -> Result<Vec<crate::aws::elbv2::Listener>, crate::error::AwsError> {
            self.inner.describe_listeners(by).await
        }
        async fn describe_target_groups(
            &self,
            by: &crate::aws::elbv2::Selector,
        ) -> Result<Vec<crate::aws::elbv2::TargetGroup>, crate::error::AwsError> {
            self.inner.describe_target_groups(by).await
        }
        async fn describe_target_health(&self, arn: &str) -> Result<Vec<crate::aws::elbv2::TargetHealth>, crate::error::AwsError> {
            self.inner.describe_target_health(arn).await
        }
        async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, crate::error::AwsError> {
            self.inner.describe_rules(listener_arn).await
        }
        async fn create_rule(&self, l: &str, p: i32, c: &[Condition], f: &Forward) -> Result<Rule, crate::error::AwsError> {
            let r = self.inner.create_rule(l, p, c, f).await?;
            self.lose("CreateRule").map_or(Ok(r), Err)
        }
        async fn modify_rule(&self, arn: &str, c: &[Condition], f: &Forward) -> Result<Rule, crate::error::AwsError> {
            let r = self.inner.modify_rule(arn, c, f).await?;
            self.lose("ModifyRule").map_or(Ok(r), Err)
        }
        async fn delete_rule(&self, arn: &str) -> Result<(), crate::error::AwsError> {
            self.inner.delete_rule(arn).await
        }
        async fn set_rule_priorities(&self, p: &[(String, i32)]) -> Result<(), crate::error::AwsError> {
            self.inner.set_rule_priorities(p).await
        }
        async fn modify_listener_default(&self, l: &str, f: &Forward) -> Result<(), crate::error::AwsError> {
            self.inner.modify_listener_default(l, f).await
        }
        async fn tag_rules(&self, arns: &[String]) -> Result<(), crate::error::AwsError> {
            self.inner.tag_rules(arns).await
        }
    }

    /// Found with the fault-injecting proxy: a CreateRule whose answer was
    /// lost left the rule behind, the SDK's retry met PriorityInUse, and the
    /// create failed; every later apply refused the "foreign" rule.
    #[tokio::test(start_paused = true)]
    async fn rules_created_without_an_answer_are_read_back_not_left_behind() {
        let f = fake();
        let api = LandsThenFails { inner: f.clone(), ops: std::sync::Mutex::new(vec!["CreateRule", "CreateRule"]) };
        let ids = create(&api, &spec(), t(20)).await.unwrap();
        assert_eq!(f.rules(L).len(), 2, "exactly the two rules");
        assert_eq!(weights(&f, &ids.rule_arn), [(BLUE.to_string(), Some(80)), (GREEN.to_string(), Some(20))]);
        assert!(f.rules(L).iter().any(|r| Some(&r.arn) == ids.test_rule_arn.as_ref() && r.priority == Some(99)));
        // The pacer's retry of such a call meets PriorityInUse, and the rule there is ours.
        let f = fake();
        let lost = Arc::new(LandsThenFails { inner: f.clone(), ops: std::sync::Mutex::new(vec!["CreateRule"]) });
        let pacer = crate::aws::retry::Pacer::new(
            "ELBv2",
            "http://elbv2.test".into(),
            crate::aws::retry::Limiter::new(1000.0, 1000),
            crate::aws::retry::RetryPolicy::default(),
            CancellationToken::new(),
        );
        let paced = crate::aws::paced::PacedElbv2::new(lost, Arc::new(pacer));
        let made = create_rule(&paced, L, 100, &spec().conditions(), &spec().forward(t(0))).await.unwrap();
        assert_eq!(f.rules(L).len(), 1, "created once");
        assert_eq!(f.rules(L)[0].arn, made.arn);
        // The same refusal on a first attempt is someone else's rule, even with these very conditions.
        let e = create_rule(f.as_ref(), L, 100, &spec().conditions(), &spec().forward(t(0))).await.unwrap_err();
        assert!(e.to_string().contains("PriorityInUse"), "{e}");
        // A rule at that priority with other conditions is not taken either.
        let e = create_rule(f.as_ref(), L, 100, &[Condition::PathPattern(vec!["/other".into()])], &spec().forward(t(0))).await.unwrap_err();
        assert!(e.to_string().contains("PriorityInUse"), "{e}");
    }

    #[tokio::test]
    async fn a_traffic_change_that_landed_without_an_answer_is_not_an_error() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        let api = Arc::new(LandsThenFails { inner: f.clone(), ops: std::sync::Mutex::new(vec!["ModifyRule"]) });
        let router = AlbRouter { api, spec: spec(), ids: ids.clone() };
        assert_eq!(router.submit(t(40)).await.unwrap(), ids);
        assert_eq!(weights(&f, &ids.rule_arn)[1], (GREEN.to_string(), Some(40)));
    }

    #[tokio::test]
    async fn priority_changes_move_rules_without_recreating_them() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        let mut moved = spec();
        moved.priority = 200;
        moved.test_route.as_mut().unwrap().priority = 150;
        let new_ids = update(f.as_ref(), &spec(), &moved, &ids, t(20)).await.unwrap();
        assert_eq!(new_ids, ids, "same rules");
        assert_eq!(f.calls("SetRulePriorities"), 1);
        assert_eq!(f.calls("CreateRule"), 2, "only the original two");
        let mut prios: Vec<Option<i32>> = f.rules(L).iter().map(|r| r.priority).collect();
        prios.sort();
        assert_eq!(prios, [Some(150), Some(200)]);
        assert_eq!(weights(&f, &ids.rule_arn)[1], (GREEN.to_string(), Some(20)));
    }

    #[tokio::test]
    async fn an_update_writes_only_what_differs() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(10)).await.unwrap();
        // Nothing changed but `traffic` (the shift after it writes the weights): no write here.
        let same = update(f.as_ref(), &spec(), &spec(), &ids, t(10)).await.unwrap();
        assert_eq!((same, f.calls("ModifyRule")), (ids.clone(), 0));
        // A changed host is written to both rules, once each; weights as in place.
        let mut hosts = spec();
        hosts.hosts = vec!["www.example.com".into()];
        update(f.as_ref(), &spec(), &hosts, &ids, t(10)).await.unwrap();
        assert_eq!(f.calls("ModifyRule"), 2);
        assert_eq!(weights(&f, &ids.rule_arn)[1], (GREEN.to_string(), Some(10)));
        // Stickiness is the weighted rule's alone.
        let mut sticky = hosts.clone();
        sticky.stickiness_seconds = Some(60);
        update(f.as_ref(), &hosts, &sticky, &ids, t(10)).await.unwrap();
        assert_eq!(f.calls("ModifyRule"), 3);
        // Weights that drifted from the split in effect are put back.
        f.modify_rule(&ids.rule_arn, &sticky.conditions(), &sticky.forward(t(30))).await.unwrap();
        update(f.as_ref(), &sticky, &sticky, &ids, t(10)).await.unwrap();
        assert_eq!(f.calls("ModifyRule"), 5);
        assert_eq!(weights(&f, &ids.rule_arn)[1], (GREEN.to_string(), Some(10)));
    }

    #[tokio::test]
    async fn a_destroy_without_the_ids_of_the_create_is_an_error_not_a_success() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(50)).await.unwrap();
        let unknown = AlbCutover { api: f.clone(), spec: spec(), ids: CanaryIds::default(), on_destroy: OnDestroy::Delete };
        let e = crate::cutover::Cutover::destroy(&unknown, &CancellationToken::new()).await.unwrap_err();
        assert!(e.to_string().contains("has no known rule ARN"), "{e}");
        assert!(crate::cutover::Cutover::check_destroy(&unknown).await.is_err());
        assert_eq!(f.rules(L).len(), 2, "the rules are still there, and the error says so");
        let known = AlbCutover { ids, on_destroy: OnDestroy::Delete, ..unknown };
        assert!(crate::cutover::Cutover::destroy(&known, &CancellationToken::new()).await.is_err(), "50 % green: refused");
    }

    #[tokio::test]
    async fn a_shift_starts_from_the_split_in_place_not_a_stale_claim() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(50)).await.unwrap();
        let router = AlbRouter { api: f.clone(), spec: spec(), ids: ids.clone() };
        let probe =
            AwsGateProbe::with(f.clone(), crate::aws::watch::CloudWatchReader::new(Arc::new(crate::testing::FakeCloudWatch::default())));
        let stale = |to: u8| ShiftPlan {
            from: t(0),
            to: t(to),
            rollout: Some(Rollout { steps: vec![25], bake: Duration::ZERO }),
            gate: None,
            on_gate_failure: OnGateFailure::Rollback,
            gate_already_passed: false,
            observed_traffic: None,
            clock: Default::default(),
        };
        // Claimed 0 % while 50 % is in place: going to 50 % writes nothing (not 25 % first).
        let up = crate::cutover::shift(&router, &probe, &stale(50), &CancellationToken::new()).await;
        assert!(up.reached() && up.writes.is_empty(), "{up:?}");
        // And going to 0 % writes 0 % (not "reached, 0 writes").
        let down = crate::cutover::shift(&router, &probe, &stale(0), &CancellationToken::new()).await;
        assert!(down.reached() && down.writes.len() == 1, "{down:?}");
        assert_eq!(weights(&f, &ids.rule_arn)[1], (GREEN.to_string(), Some(0)));
    }

    #[tokio::test]
    async fn a_traffic_only_update_sends_one_modify_rule() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        let cutover = AlbCutover { api: f.clone(), spec: spec(), ids: ids.clone(), on_destroy: OnDestroy::Delete };
        let probe =
            AwsGateProbe::with(f.clone(), crate::aws::watch::CloudWatchReader::new(Arc::new(crate::testing::FakeCloudWatch::default())));
        let plan = ShiftPlan {
            from: t(0),
            to: t(30),
            rollout: None,
            gate: None,
            on_gate_failure: OnGateFailure::Rollback,
            gate_already_passed: false,
            observed_traffic: None,
            clock: Default::default(),
        };
        let out = crate::cutover::update(&cutover, &(spec(), ids.clone()), &probe, &plan, &CancellationToken::new()).await;
        assert!(matches!(&out, crate::cutover::Updated::Shifted { report, .. } if report.reached()), "{out:?}");
        assert_eq!(f.calls("ModifyRule"), 1, "the shift's write only");
        assert_eq!(weights(&f, &ids.rule_arn)[1], (GREEN.to_string(), Some(30)));
    }

    #[tokio::test]
    async fn a_deleted_weighted_rule_is_recreated_beside_the_surviving_test_rule() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(30)).await.unwrap();
        f.delete_rule(&ids.rule_arn).await.unwrap();
        let new_ids = update(f.as_ref(), &spec(), &spec(), &ids, t(0)).await.unwrap();
        assert_ne!(new_ids.rule_arn, ids.rule_arn);
        assert_eq!(new_ids.test_rule_arn, ids.test_rule_arn, "the test rule is kept");
        assert_eq!(f.rules(L).len(), 2);
    }

    #[tokio::test]
    async fn removing_and_adding_the_test_route() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        let mut none = spec();
        none.test_route = None;
        let ids2 = update(f.as_ref(), &spec(), &none, &ids, t(0)).await.unwrap();
        assert_eq!(ids2.test_rule_arn, None);
        assert_eq!(f.rules(L).len(), 1);
        let ids3 = update(f.as_ref(), &none, &spec(), &ids2, t(0)).await.unwrap();
        assert!(ids3.test_rule_arn.is_some());
        assert_eq!(f.rules(L).len(), 2);
    }

    #[tokio::test]
    async fn destroy_is_refused_while_green_has_traffic() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(10)).await.unwrap();
        let e = destroy(f.as_ref(), &spec(), &ids, OnDestroy::Delete).await.unwrap_err().to_string();
        assert!(e.starts_with("Destroy refused while green has traffic: ") && e.contains("10% of requests to green"), "{e}");
        assert_eq!(f.rules(L).len(), 2);
        let e = destroy(f.as_ref(), &spec(), &ids, OnDestroy::Promote).await.unwrap_err().to_string();
        assert!(e.contains("splits requests (10% green, 90% blue)"), "{e}");
    }

    #[tokio::test]
    async fn promote_points_the_default_action_at_green_then_removes_the_rules() {
        // A canary without `match` routes every request (`/*`): promoting it is the listener's default action.
        let mut all = spec();
        all.hosts.clear();
        assert_eq!(all.promotion(), Promotion::DefaultAction);
        let f = fake();
        let ids = create(f.as_ref(), &all, t(100)).await.unwrap();
        destroy(f.as_ref(), &all, &ids, OnDestroy::Promote).await.unwrap();
        assert_eq!(f.default_forward(L).unwrap().target_groups, [(GREEN.to_string(), 1)]);
        assert!(f.rules(L).is_empty());
        // At 0 %, delete is allowed and the default stays as it was.
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        destroy(f.as_ref(), &spec(), &ids, OnDestroy::Delete).await.unwrap();
        assert!(f.rules(L).is_empty());
        assert_eq!(f.default_forward(L).unwrap().target_groups, [(BLUE.to_string(), 1)]);
    }

    /// A canary for one host at 100 %: promote must not send every other host
    /// to green through the default action.
    #[tokio::test]
    async fn promote_with_a_match_leaves_a_plain_rule_and_the_default_action_alone() {
        let f = fake();
        let mut host = spec();
        host.hosts = vec!["api.example.com".into()];
        let ids = create(f.as_ref(), &host, t(100)).await.unwrap();
        let before = f.default_forward(L).unwrap();
        destroy(f.as_ref(), &host, &ids, OnDestroy::Promote).await.unwrap();
        assert_eq!(f.default_forward(L).unwrap(), before, "the default action is untouched");
        assert_eq!(f.calls("ModifyListener"), 0);
        let rules = f.rules(L);
        assert_eq!(rules.len(), 1, "the test rule is gone, the weighted rule stays: {rules:?}");
        let kept = &rules[0];
        assert_eq!(kept.arn, ids.rule_arn);
        assert_eq!(kept.priority, Some(host.priority));
        assert_eq!(kept.conditions, host.conditions());
        assert_eq!(weights(&f, &kept.arn), [(GREEN.to_string(), Some(1))]);
        // At 0 % it stays a plain forward to blue.
        let f = fake();
        let ids = create(f.as_ref(), &host, t(0)).await.unwrap();
        destroy(f.as_ref(), &host, &ids, OnDestroy::Promote).await.unwrap();
        assert_eq!(weights(&f, &ids.rule_arn), [(BLUE.to_string(), Some(1))]);
        assert_eq!(f.default_forward(L).unwrap().target_groups, [(BLUE.to_string(), 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_shared_engine_rolls_the_alb_back_when_green_empties() {
        let f = fake();
        let ids = create(f.as_ref(), &spec(), t(0)).await.unwrap();
        let router = AlbRouter { api: f.clone(), spec: spec(), ids: ids.clone() };
        let probe = AwsGateProbe::with(
            f.clone(),
            crate::aws::watch::CloudWatchReader::new(std::sync::Arc::new(crate::testing::FakeCloudWatch::default())),
        );
        let plan = ShiftPlan {
            from: t(0),
            to: t(100),
            rollout: Some(Rollout { steps: vec![5, 25, 50], bake: Duration::from_secs(600) }),
            gate: Some(HealthGate { target_group_arns: vec![GREEN.into()], ..HealthGate::default() }),
            on_gate_failure: OnGateFailure::Rollback,
            gate_already_passed: false,
            observed_traffic: None,
            clock: Default::default(),
        };
        let f2 = f.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(900)).await;
            f2.set_health(GREEN, vec![]);
        });
        let report = shift(&router, &probe, &plan, &CancellationToken::new()).await;
        assert!(matches!(report.outcome, ShiftOutcome::RolledBack(_)), "{report:?}");
        assert_eq!(report.at, t(0));
        assert_eq!(weights(&f, &ids.rule_arn), [(BLUE.to_string(), Some(100)), (GREEN.to_string(), Some(0))]);
        assert_eq!(router.observe().await.unwrap(), t(0));
    }
}
