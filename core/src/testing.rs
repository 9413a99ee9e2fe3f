//! In-memory fakes of Route 53, ELBv2 and CloudWatch with AWS's semantics (atomic
//! batches, exact-match deletes) and scripted faults, for unit tests here
//! and in the provider crate (feature `testing`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::aws::cloudwatch::{AlarmState, AlarmStateValue, AlarmTransition, CloudWatchApi, HistoryPage, MetricQuery};
use crate::aws::elbv2::{
    Action, Condition, Elbv2Api, Forward, Listener, ListenerSelector, LoadBalancer, Rule, Selector, TargetGroup, TargetHealth,
    WeightedTargetGroup,
};
use crate::aws::route53::{
    Change, ChangeAction, ChangeInfo, ChangeStatus, HealthCheck, HealthCheckConfig, HealthCheckPage, HealthCheckSeen, HostedZone,
    ListStart, RecordKey, RecordPage, RecordSet, Route53Api,
};
use crate::dns::{bare_id, canonical_name};
use crate::error::{AwsError, AwsErrorKind};

/// A scripted failure for the next call of an operation.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Fail without applying.
    Fail(AwsErrorKind, &'static str),
    /// Apply the batch, then report a failure (a 5xx whose effect landed).
    ApplyThenFail,
    /// Let this call through (to fault a later one).
    Pass,
}

#[derive(Default)]
struct R53State {
    zones: BTreeMap<String, HostedZone>,
    records: BTreeMap<String, Vec<RecordSet>>,
    calls: BTreeMap<&'static str, u32>,
    faults: BTreeMap<&'static str, VecDeque<Fault>>,
    /// GetChange answers PENDING this many times before INSYNC.
    pending_polls: u32,
    changes: u32,
    batches: Vec<Vec<Change>>,
    /// Names a policy condition denies: a batch touching one fails whole with AccessDenied.
    denied_names: Vec<String>,
    /// Health checks by id: caller reference and configuration.
    health_checks: BTreeMap<String, (String, HealthCheckConfig)>,
    /// Every caller reference ever used, with the id it created (Route 53 remembers deleted ones too).
    caller_references: BTreeMap<String, String>,
    next_health_check: u32,
}

/// Route 53 in memory.
#[derive(Default)]
pub struct FakeRoute53 {
    state: Mutex<R53State>,
}

fn err(op: &'static str, kind: AwsErrorKind, code: &str, msg: impl Into<String>) -> AwsError {
    AwsError::new(op, kind, msg).with_code(code)
}

impl FakeRoute53 {
    /// An empty fake: no zones, no records.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a hosted zone `id` for the domain `name` exist.
    pub fn add_zone(&self, id: &str, name: &str) {
        let mut s = self.state.lock().unwrap();
        s.zones.insert(id.into(), HostedZone { id: id.into(), name: canonical_name(name), private: false, record_count: 2 });
        s.records.entry(id.into()).or_default();
    }

    /// Puts a record set in place directly (an out-of-band change).
    pub fn put(&self, zone: &str, r: RecordSet) {
        let mut s = self.state.lock().unwrap();
        let list = s.records.entry(zone.into()).or_default();
        list.retain(|x| x.key() != r.key());
        list.push(r);
    }

    /// Deletes a record set directly (an out-of-band change).
    pub fn remove(&self, zone: &str, key: &RecordKey) {
        let mut s = self.state.lock().unwrap();
        if let Some(list) = s.records.get_mut(zone) {
            list.retain(|x| &x.key() != key);
        }
    }

    /// The zone's record sets now, in Route 53's listing order.
    pub fn records(&self, zone: &str) -> Vec<RecordSet> {
        let s = self.state.lock().unwrap();
        let mut v = s.records.get(zone).cloned().unwrap_or_default();
        v.sort_by_key(RecordSet::key);
        v
    }

    /// How many calls of operation `op` (e.g. `ChangeResourceRecordSets`) were made.
    pub fn calls(&self, op: &str) -> u32 {
        self.state.lock().unwrap().calls.get(op).copied().unwrap_or(0)
    }

    /// Every change batch submitted, in order.
    pub fn batches(&self) -> Vec<Vec<Change>> {
        self.state.lock().unwrap().batches.clone()
    }

    /// Scripts the next call of `op` to go as `f` (queued behind earlier faults of `op`).
    pub fn fault(&self, op: &'static str, f: Fault) {
        self.state.lock().unwrap().faults.entry(op).or_default().push_back(f);
    }

    /// Denies every ChangeResourceRecordSets whose batch touches `name`, as a
    /// `route53:ChangeResourceRecordSetsNormalizedRecordNames` condition does:
    /// the whole batch fails with AccessDenied, nothing of it applied.
    pub fn deny_name(&self, name: &str) {
        self.state.lock().unwrap().denied_names.push(canonical_name(name));
    }

    /// The health checks that exist now, by id.
    pub fn health_checks(&self) -> BTreeMap<String, HealthCheckConfig> {
        self.state.lock().unwrap().health_checks.iter().map(|(id, (_, c))| (id.clone(), c.clone())).collect()
    }

    /// Deletes a health check directly (an out-of-band change).
    pub fn remove_health_check(&self, id: &str) {
        self.state.lock().unwrap().health_checks.remove(id);
    }

    /// Makes the next `n` GetChange polls answer PENDING.
    pub fn pending_polls(&self, n: u32) {
        self.state.lock().unwrap().pending_polls = n;
    }

    fn enter(&self, op: &'static str) -> Option<Fault> {
        let mut s = self.state.lock().unwrap();
        *s.calls.entry(op).or_default() += 1;
        s.faults.get_mut(op).and_then(VecDeque::pop_front)
    }
}

/// Applies a batch atomically with AWS's rules; returns the new list.
fn apply_batch(mut list: Vec<RecordSet>, changes: &[Change]) -> Result<Vec<RecordSet>, String> {
    for c in changes {
        let key = c.record.key();
        let pos = list.iter().position(|r| r.key() == key);
        match (c.action, pos) {
            (ChangeAction::Create, Some(_)) => {
                return Err(format!(
                    "Tried to create resource record set [name='{}', type='{}'] but it already exists",
                    key.name, key.record_type
                ))
            }
            (ChangeAction::Create, None) => {
                // A simple record cannot live beside others of its name and type, and vice versa.
                let clash = list.iter().any(|r| {
                    r.name == key.name && r.record_type == key.record_type && (r.set_identifier().is_none() != key.set_identifier.is_none())
                });
                if clash {
                    return Err(format!("RRSet of type {} with DNS name {} is not permitted because a conflicting RRSet of type {} with the same DNS name already exists", key.record_type, key.name, key.record_type));
                }
                list.push(c.record.clone());
            }
            (ChangeAction::Delete, Some(i)) if list[i] == c.record => {
                list.remove(i);
            }
            (ChangeAction::Delete, _) => {
                return Err(format!(
                    "Tried to delete resource record set [name='{}', type='{}'] but it was not found",
                    key.name, key.record_type
                ))
            }
            (ChangeAction::Upsert, Some(i)) => list[i] = c.record.clone(),
            (ChangeAction::Upsert, None) => list.push(c.record.clone()),
        }
    }
    Ok(list)
}

fn order_key(r: &RecordSet) -> (Vec<String>, String) {
    (r.name.trim_end_matches('.').split('.').rev().map(str::to_string).collect(), r.record_type.as_str().to_string())
}

#[async_trait]
impl Route53Api for FakeRoute53 {
    async fn get_hosted_zone(&self, zone_id: &str) -> Result<HostedZone, AwsError> {
        const OP: &str = "GetHostedZone";
        if let Some(Fault::Fail(k, code)) = self.enter(OP) {
            return Err(err(OP, k, code, "injected"));
        }
        self.state
            .lock()
            .unwrap()
            .zones
            .get(bare_id(zone_id))
            .cloned()
            .ok_or_else(|| err(OP, AwsErrorKind::NotFound, "NoSuchHostedZone", "No hosted zone found"))
    }

    async fn list_hosted_zones_by_name(&self, dns_name: &str, max_items: i32) -> Result<Vec<HostedZone>, AwsError> {
        self.enter("ListHostedZonesByName");
        let want = canonical_name(dns_name);
        let s = self.state.lock().unwrap();
        let mut zones: Vec<HostedZone> = s.zones.values().filter(|z| z.name >= want).cloned().collect();
        zones.sort_by(|a, b| a.name.cmp(&b.name));
        zones.truncate(max_items as usize);
        Ok(zones)
    }

    async fn list_record_sets(&self, zone_id: &str, start: &ListStart, max_items: i32) -> Result<RecordPage, AwsError> {
        const OP: &str = "ListResourceRecordSets";
        if let Some(Fault::Fail(k, code)) = self.enter(OP) {
            return Err(err(OP, k, code, "injected"));
        }
        let s = self.state.lock().unwrap();
        let mut list = s
            .records
            .get(bare_id(zone_id))
            .cloned()
            .ok_or_else(|| err(OP, AwsErrorKind::NotFound, "NoSuchHostedZone", "No hosted zone found"))?;
        list.sort_by_key(order_key);
        let from = start.name.as_ref().map(|n| {
            let probe = RecordSet {
                name: canonical_name(n),
                record_type: start.record_type.clone().unwrap_or(crate::aws::route53::RecordType::Other(String::new())),
                routing: crate::aws::route53::Routing::Simple,
                ttl: None,
                records: vec![],
                alias: None,
                health_check_id: None,
            };
            order_key(&probe)
        });
        let items: Vec<RecordSet> = list.into_iter().filter(|r| from.as_ref().is_none_or(|f| &order_key(r) >= f)).collect();
        let n = max_items as usize;
        let next = items.get(n).map(|r| ListStart {
            name: Some(r.name.clone()),
            record_type: Some(r.record_type.clone()),
            set_identifier: r.set_identifier().map(str::to_string),
        });
        Ok(RecordPage { records: items.into_iter().take(n).collect(), next })
    }

    async fn change_record_sets(&self, zone_id: &str, _comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        const OP: &str = "ChangeResourceRecordSets";
        let fault = self.enter(OP);
        if let Some(Fault::Fail(k, code)) = fault {
            return Err(err(OP, k, code, "injected"));
        }
        let mut s = self.state.lock().unwrap();
        if changes.iter().any(|c| s.denied_names.contains(&c.record.name)) {
            // AWS's message names the zone, never the record name that the condition refused.
            let msg = format!(
                "User: arn:aws:iam::000000000000:user/ci is not authorized to perform: route53:ChangeResourceRecordSets on \
                 resource: arn:aws:route53:::hostedzone/{} because no identity-based policy allows the \
                 route53:ChangeResourceRecordSets action",
                bare_id(zone_id)
            );
            return Err(err(OP, AwsErrorKind::Auth, "AccessDenied", msg));
        }
        let list = s
            .records
            .get(bare_id(zone_id))
            .cloned()
            .ok_or_else(|| err(OP, AwsErrorKind::NotFound, "NoSuchHostedZone", "No hosted zone found"))?;
        let new = apply_batch(list, changes).map_err(|m| err(OP, AwsErrorKind::Invalid, "InvalidChangeBatch", m))?;
        s.records.insert(bare_id(zone_id).into(), new);
        s.batches.push(changes.to_vec());
        s.changes += 1;
        let id = format!("C{:04}", s.changes);
        if matches!(fault, Some(Fault::ApplyThenFail)) {
            return Err(err(OP, AwsErrorKind::Ambiguous, "InternalFailure", "injected 500 after applying"));
        }
        Ok(ChangeInfo { id, status: ChangeStatus::Pending })
    }

    async fn get_change(&self, change_id: &str) -> Result<ChangeInfo, AwsError> {
        if let Some(Fault::Fail(kind, code)) = self.enter("GetChange") {
            return Err(err("GetChange", kind, code, "injected"));
        }
        let mut s = self.state.lock().unwrap();
        let status = if s.pending_polls > 0 {
            s.pending_polls -= 1;
            ChangeStatus::Pending
        } else {
            ChangeStatus::InSync
        };
        Ok(ChangeInfo { id: bare_id(change_id).into(), status })
    }

    async fn create_health_check(&self, caller_reference: &str, config: &HealthCheckConfig) -> Result<HealthCheck, AwsError> {
        const OP: &str = "CreateHealthCheck";
        let fault = self.enter(OP);
        if let Some(Fault::Fail(k, code)) = fault {
            return Err(err(OP, k, code, "injected"));
        }
        let mut s = self.state.lock().unwrap();
        if let HealthCheckConfig::Calculated { children, .. } = config {
            if let Some(c) = children.iter().find(|c| !s.health_checks.contains_key(*c)) {
                return Err(err(OP, AwsErrorKind::Invalid, "InvalidInput", format!("child health check {c} does not exist")));
            }
        }
        // Route 53's idempotency: the same reference and settings return the same check; anything else is refused.
        let id = match s.caller_references.get(caller_reference).cloned() {
            Some(id) => match s.health_checks.get(&id) {
                Some((_, c)) if c == config => id,
                _ => return Err(err(OP, AwsErrorKind::Invalid, "HealthCheckAlreadyExists", "caller reference already used")),
            },
            None => {
                s.next_health_check += 1;
                let id = format!("hc-{:04}", s.next_health_check);
                s.caller_references.insert(caller_reference.into(), id.clone());
                s.health_checks.insert(id.clone(), (caller_reference.into(), config.clone()));
                id
            }
        };
        if matches!(fault, Some(Fault::ApplyThenFail)) {
            return Err(err(OP, AwsErrorKind::Ambiguous, "InternalFailure", "injected 500 after applying"));
        }
        Ok(seen(&id, caller_reference, config))
    }

    async fn list_health_checks(&self, marker: Option<&str>, max_items: i32) -> Result<HealthCheckPage, AwsError> {
        const OP: &str = "ListHealthChecks";
        if let Some(Fault::Fail(k, code)) = self.enter(OP) {
            return Err(err(OP, k, code, "injected"));
        }
        let s = self.state.lock().unwrap();
        let mut rest = s.health_checks.iter().filter(|(id, _)| marker.is_none_or(|m| id.as_str() >= m));
        let checks: Vec<HealthCheck> = rest.by_ref().take(max_items as usize).map(|(id, (r, c))| seen(id, r, c)).collect();
        Ok(HealthCheckPage { checks, next_marker: rest.next().map(|(id, _)| id.clone()) })
    }

    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError> {
        const OP: &str = "DeleteHealthCheck";
        if let Some(Fault::Fail(k, code)) = self.enter(OP) {
            return Err(err(OP, k, code, "injected"));
        }
        let mut s = self.state.lock().unwrap();
        s.health_checks.remove(id).map(|_| ()).ok_or_else(|| err(OP, AwsErrorKind::NotFound, "NoSuchHealthCheck", "No health check"))
    }
}

/// A configuration as AWS reports it back.
fn seen(id: &str, caller_reference: &str, c: &HealthCheckConfig) -> HealthCheck {
    let config = match c {
        HealthCheckConfig::Alarm { alarm, insufficient_data } => {
            HealthCheckSeen::Alarm { alarm: Some(alarm.clone()), insufficient_data: Some(*insufficient_data) }
        }
        HealthCheckConfig::Calculated { children, threshold } => {
            HealthCheckSeen::Calculated { children: children.clone(), threshold: *threshold }
        }
    };
    HealthCheck { id: id.into(), caller_reference: caller_reference.into(), config }
}

/// ELBv2 in memory: target health, listener rules and default actions.
#[derive(Default)]
pub struct FakeElbv2 {
    health: Mutex<BTreeMap<String, Vec<&'static str>>>,
    rules: Mutex<BTreeMap<String, Vec<Rule>>>,
    defaults: Mutex<BTreeMap<String, Forward>>,
    /// Each rule's tags.
    tags: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    calls: Mutex<BTreeMap<&'static str, u32>>,
    faults: Mutex<BTreeMap<&'static str, VecDeque<Fault>>>,
    next: Mutex<u32>,
    /// Target group ARN → the load balancers it serves.
    target_groups: Mutex<BTreeMap<String, Vec<String>>>,
}

fn forward_action(f: &Forward) -> Action {
    Action {
        action_type: "forward".into(),
        order: Some(1),
        target_groups: f.target_groups.iter().map(|(arn, w)| WeightedTargetGroup { arn: arn.clone(), weight: Some(*w) }).collect(),
        stickiness_seconds: f.stickiness_seconds,
    }
}

impl FakeElbv2 {
    /// Makes a target group exist, serving these load balancers.
    pub fn add_target_group(&self, tg_arn: &str, load_balancer_arns: &[&str]) {
        self.target_groups.lock().unwrap().insert(tg_arn.into(), load_balancer_arns.iter().map(|s| s.to_string()).collect());
    }

    /// Sets the target group's targets, one per health state (`"healthy"`, `"unhealthy"`, …).
    pub fn set_health(&self, tg_arn: &str, states: Vec<&'static str>) {
        self.health.lock().unwrap().insert(tg_arn.into(), states);
    }

    /// Makes a listener exist with `default` as its default forward action.
    pub fn add_listener(&self, listener_arn: &str, default: Forward) {
        self.rules.lock().unwrap().entry(listener_arn.into()).or_default();
        self.defaults.lock().unwrap().insert(listener_arn.into(), default);
    }

    /// The listener's rules now.
    pub fn rules(&self, listener_arn: &str) -> Vec<Rule> {
        self.rules.lock().unwrap().get(listener_arn).cloned().unwrap_or_default()
    }

    /// The listener's default forward action, if the listener exists.
    pub fn default_forward(&self, listener_arn: &str) -> Option<Forward> {
        self.defaults.lock().unwrap().get(listener_arn).cloned()
    }

    /// Edits a rule directly (an out-of-band change).
    pub fn edit_rule(&self, rule_arn: &str, f: impl FnOnce(&mut Rule)) {
        let _ = self.with_rule("edit", rule_arn, f);
    }

    /// How many calls of operation `op` were made.
    pub fn calls(&self, op: &str) -> u32 {
        self.calls.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    /// The rule's tags.
    pub fn tags(&self, rule_arn: &str) -> BTreeMap<String, String> {
        self.tags.lock().unwrap().get(rule_arn).cloned().unwrap_or_default()
    }

    /// Removes the rule's tags, as if an earlier version had made it.
    pub fn untag(&self, rule_arn: &str) {
        self.tags.lock().unwrap().remove(rule_arn);
    }

    /// Scripts the next call of `op` to go as `f` (queued behind earlier faults of `op`).
    pub fn fault(&self, op: &'static str, f: Fault) {
        self.faults.lock().unwrap().entry(op).or_default().push_back(f);
    }

    fn enter(&self, op: &'static str) -> Result<(), AwsError> {
        *self.calls.lock().unwrap().entry(op).or_default() += 1;
        match self.faults.lock().unwrap().get_mut(op).and_then(VecDeque::pop_front) {
            Some(Fault::Fail(kind, code)) => Err(err(op, kind, code, "injected")),
            _ => Ok(()),
        }
    }

    fn with_rule(&self, op: &'static str, rule_arn: &str, f: impl FnOnce(&mut Rule)) -> Result<Rule, AwsError> {
        let mut all = self.rules.lock().unwrap();
        for rules in all.values_mut() {
            if let Some(r) = rules.iter_mut().find(|r| r.arn == rule_arn) {
                f(r);
                return Ok(r.clone());
            }
        }
        Err(err(op, AwsErrorKind::NotFound, "RuleNotFound", "One or more rules not found"))
    }
}

#[async_trait]
impl Elbv2Api for FakeElbv2 {
    async fn describe_load_balancers(&self, _by: &Selector) -> Result<Vec<LoadBalancer>, AwsError> {
        Ok(vec![])
    }
    async fn describe_listeners(&self, _by: &ListenerSelector) -> Result<Vec<Listener>, AwsError> {
        Ok(vec![])
    }
    async fn describe_target_groups(&self, by: &Selector) -> Result<Vec<TargetGroup>, AwsError> {
        self.enter("DescribeTargetGroups")?;
        let Selector::Arns(arns) = by else { return Ok(vec![]) };
        let tgs = self.target_groups.lock().unwrap();
        // Unknown ARNs are left out (AWS fails the whole call with TargetGroupNotFound; callers handle both).
        Ok(arns
            .iter()
            .filter_map(|arn| {
                tgs.get(arn).map(|lbs| TargetGroup {
                    arn: arn.clone(),
                    name: crate::gate::short_tg_name(arn).into(),
                    port: Some(80),
                    protocol: "HTTP".into(),
                    target_type: "ip".into(),
                    load_balancer_arns: lbs.clone(),
                })
            })
            .collect())
    }
    async fn describe_target_health(&self, arn: &str) -> Result<Vec<TargetHealth>, AwsError> {
        self.enter("DescribeTargetHealth")?;
        let h = self.health.lock().unwrap();
        let states = h.get(arn).ok_or_else(|| err("DescribeTargetHealth", AwsErrorKind::NotFound, "TargetGroupNotFound", "not found"))?;
        Ok(states
            .iter()
            .enumerate()
            .map(|(i, s)| TargetHealth { target_id: format!("t{i}"), port: Some(80), state: (*s).into(), reason: None })
            .collect())
    }
    async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, AwsError> {
        self.enter("DescribeRules")?;
        let mut rules = self
            .rules
            .lock()
            .unwrap()
            .get(listener_arn)
            .cloned()
            .ok_or_else(|| err("DescribeRules", AwsErrorKind::NotFound, "ListenerNotFound", "not found"))?;
        rules.sort_by_key(|r| r.priority.unwrap_or(i32::MAX));
        Ok(rules)
    }
    async fn create_rule(&self, listener_arn: &str, priority: i32, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        self.enter("CreateRule")?;
        let mut all = self.rules.lock().unwrap();
        let rules = all.get_mut(listener_arn).ok_or_else(|| err("CreateRule", AwsErrorKind::NotFound, "ListenerNotFound", "not found"))?;
        if rules.iter().any(|r| r.priority == Some(priority)) {
            return Err(err("CreateRule", AwsErrorKind::Invalid, "PriorityInUse", "The specified priority is in use."));
        }
        let mut n = self.next.lock().unwrap();
        *n += 1;
        let rule = Rule {
            // Shaped like AWS's: listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>.
            arn: format!("{}/rule{n}", listener_arn.replacen(":listener/", ":listener-rule/", 1)),
            priority: Some(priority),
            conditions: conditions.to_vec(),
            actions: vec![forward_action(forward)],
        };
        rules.push(rule.clone());
        let (k, v) = crate::aws::elbv2::MANAGED_BY;
        self.tags.lock().unwrap().entry(rule.arn.clone()).or_default().insert(k.into(), v.into());
        Ok(rule)
    }
    async fn modify_rule(&self, rule_arn: &str, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        self.enter("ModifyRule")?;
        self.with_rule("ModifyRule", rule_arn, |r| {
            r.conditions = conditions.to_vec();
            r.actions = vec![forward_action(forward)];
        })
    }
    async fn delete_rule(&self, rule_arn: &str) -> Result<(), AwsError> {
        self.enter("DeleteRule")?;
        let mut all = self.rules.lock().unwrap();
        for rules in all.values_mut() {
            if let Some(i) = rules.iter().position(|r| r.arn == rule_arn) {
                rules.remove(i);
                return Ok(());
            }
        }
        Err(err("DeleteRule", AwsErrorKind::NotFound, "RuleNotFound", "One or more rules not found"))
    }
    async fn set_rule_priorities(&self, priorities: &[(String, i32)]) -> Result<(), AwsError> {
        self.enter("SetRulePriorities")?;
        for (arn, p) in priorities {
            self.with_rule("SetRulePriorities", arn, |r| r.priority = Some(*p))?;
        }
        Ok(())
    }
    async fn modify_listener_default(&self, listener_arn: &str, forward: &Forward) -> Result<(), AwsError> {
        self.enter("ModifyListener")?;
        self.defaults.lock().unwrap().insert(listener_arn.into(), forward.clone());
        Ok(())
    }
    async fn tag_rules(&self, rule_arns: &[String]) -> Result<(), AwsError> {
        self.enter("AddTags")?;
        let known: Vec<String> = self.rules.lock().unwrap().values().flatten().map(|r| r.arn.clone()).collect();
        if let Some(missing) = rule_arns.iter().find(|a| !known.contains(a)) {
            return Err(err("AddTags", AwsErrorKind::NotFound, "RuleNotFound", format!("{missing} not found")));
        }
        let (k, v) = crate::aws::elbv2::MANAGED_BY;
        let mut tags = self.tags.lock().unwrap();
        for arn in rule_arns {
            tags.entry(arn.clone()).or_default().insert(k.into(), v.into());
        }
        Ok(())
    }
}

/// CloudWatch in memory: alarm states and one value per metric query,
/// changed by the test as time goes on; every call is counted with the size
/// of its batch.
#[derive(Default)]
pub struct FakeCloudWatch {
    alarms: Mutex<BTreeMap<String, AlarmState>>,
    /// Every state change [`FakeCloudWatch::set_alarm`] made, oldest first, stamped with [`crate::clock::now`].
    history: Mutex<Vec<AlarmTransition>>,
    values: Mutex<BTreeMap<MetricQuery, f64>>,
    /// (operation, names or queries in the call)
    log: Mutex<Vec<(&'static str, usize)>>,
    faults: Mutex<BTreeMap<&'static str, VecDeque<Fault>>>,
    /// How long every call takes (virtual time).
    latency: Mutex<std::time::Duration>,
}

impl FakeCloudWatch {
    /// Makes every later call take `d` (virtual time), e.g. to have a round still in flight when others read.
    pub fn set_latency(&self, d: std::time::Duration) {
        *self.latency.lock().unwrap() = d;
    }

    /// Makes alarm `name` exist in `state`, with `reason` as its state reason;
    /// a change of an existing alarm's state goes into its history, stamped
    /// now (the moment of the change, as AWS stamps it).
    pub fn set_alarm(&self, name: &str, state: AlarmStateValue, reason: &str) {
        let old = self.alarms.lock().unwrap().insert(name.into(), AlarmState { name: name.into(), state, reason: reason.into() });
        // A new alarm's first state makes no history here (tests create alarms before they matter).
        if let Some(old) = old.map(|a| a.state).filter(|o| *o != state) {
            self.record(name, old, state, crate::clock::now());
        }
    }

    /// Adds a state change to the history as it happened at `at` (e.g. overnight, between two applies).
    pub fn record(&self, name: &str, old: AlarmStateValue, new: AlarmStateValue, at: std::time::SystemTime) {
        let mut h = self.history.lock().unwrap();
        h.push(AlarmTransition { at, name: name.into(), old, new });
        h.sort_by_key(|t| t.at);
    }

    /// Makes query `q` answer `v`.
    pub fn set_value(&self, q: &MetricQuery, v: f64) {
        self.values.lock().unwrap().insert(q.clone(), v);
    }

    /// Makes query `q` answer no data.
    pub fn clear_value(&self, q: &MetricQuery) {
        self.values.lock().unwrap().remove(q);
    }

    /// How many calls of operation `op` were made.
    pub fn calls(&self, op: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|(o, _)| *o == op).count()
    }

    /// The most alarms or queries one call of `op` carried.
    pub fn largest_batch(&self, op: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|(o, _)| *o == op).map(|(_, n)| *n).max().unwrap_or(0)
    }

    /// Scripts the next call of `op` to go as `f` (queued behind earlier faults of `op`).
    pub fn fault(&self, op: &'static str, f: Fault) {
        self.faults.lock().unwrap().entry(op).or_default().push_back(f);
    }

    fn enter(&self, op: &'static str, n: usize) -> Result<(), AwsError> {
        self.log.lock().unwrap().push((op, n));
        match self.faults.lock().unwrap().get_mut(op).and_then(VecDeque::pop_front) {
            Some(Fault::Fail(kind, code)) => Err(err(op, kind, code, "injected")),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl CloudWatchApi for FakeCloudWatch {
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<AlarmState>, AwsError> {
        assert!(names.len() <= crate::aws::cloudwatch::MAX_ALARM_NAMES_PER_CALL, "DescribeAlarms takes at most 100 names");
        self.enter("DescribeAlarms", names.len())?;
        let latency = *self.latency.lock().unwrap();
        tokio::time::sleep(latency).await;
        let alarms = self.alarms.lock().unwrap();
        Ok(names.iter().filter_map(|n| alarms.get(n).cloned()).collect())
    }

    async fn describe_alarm_history(&self, token: Option<&str>) -> Result<HistoryPage, AwsError> {
        self.enter("DescribeAlarmHistory", 0)?;
        let latency = *self.latency.lock().unwrap();
        tokio::time::sleep(latency).await;
        let from: usize = token.map_or(0, |t| t.parse().expect("a token this fake gave"));
        let newest_first: Vec<AlarmTransition> = self.history.lock().unwrap().iter().rev().cloned().collect();
        let items: Vec<AlarmTransition> = newest_first.iter().skip(from).take(100).cloned().collect();
        let next = from + items.len();
        Ok(HistoryPage { items, next_token: (next < newest_first.len()).then(|| next.to_string()) })
    }

    async fn get_metric_data(&self, queries: &[MetricQuery], _end: std::time::SystemTime) -> Result<Vec<Option<f64>>, AwsError> {
        assert!(queries.len() <= crate::aws::cloudwatch::MAX_QUERIES_PER_CALL, "GetMetricData takes at most 500 queries");
        assert!(queries.windows(2).all(|w| w[0].period == w[1].period), "one period per call");
        self.enter("GetMetricData", queries.len())?;
        let latency = *self.latency.lock().unwrap();
        tokio::time::sleep(latency).await;
        let values = self.values.lock().unwrap();
        Ok(queries.iter().map(|q| values.get(q).copied()).collect())
    }
}
