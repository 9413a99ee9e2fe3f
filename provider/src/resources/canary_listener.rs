//! `bluegreen_canary_listener` (also served as `canary_listener`, see
//! [`super::alias`]): an ALB weighted canary between a blue (legacy) and a
//! green (new) target group, with a header test route for QA.

use std::time::Duration;

use async_trait::async_trait;
use bluegreen_core::aws::elbv2::Condition;
use bluegreen_core::canary::{self, AlbCutover, CanaryIds, CanarySpec, OnDestroy, Promotion, TestRoute};
use bluegreen_core::cutover::{self, Cutover, Updated};
use bluegreen_core::duration;
use bluegreen_core::engine::{ShiftOutcome, ShiftPlan};
use bluegreen_core::gate::AwsGateProbe;
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::{Error, Refusal};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{self, Clocked, GateDefaults, GateOwner, HealthGateModel, OnGateFailureModel, RolloutModel};
use crate::claims::{ClaimKey, Claimant};
use crate::data_sources::patterns;
use crate::diag::{attr_path, Diagnostics, PathBuilder};
use crate::resource::{replace_paths, Applied, Ctx, Planned, ReplaceOn, ResourceImpl};
use crate::typed::{not_known_at_apply, Val};

/// Splits the requests an ALB listener receives between the legacy (**blue**) and the new (**green**) target group with
/// a weighted listener rule, moving the share in steps behind health gates inside `terraform apply`. A second,
/// higher-priority rule can send requests carrying a test header (e.g. `X-Canary: 1`) to green only, so QA reaches green
/// before and during the shift. Also served under its older name `canary_listener`, which needs `provider = bluegreen`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct CanaryModel {
    /// ARN of the listener the rules are added to, e.g. `data.bluegreen_listener.legacy_https.arn`. Changing it replaces the canary.
    #[schemars(regex(pattern = patterns::LISTENER_ARN), extend("x-pattern-hint" = "be a listener ARN"))]
    pub listener_arn: Val<String>,
    /// Priority of the weighted rule, 1–50000 (lower is evaluated first). Changed in place.
    #[schemars(range(min = 1, max = 50000))]
    pub priority: Val<i64>,
    /// Which requests the rule covers. Absent: all requests (path pattern `/*`).
    #[serde(default)]
    pub r#match: Option<MatchModel>,
    /// ARN of the legacy target group (e.g. EC2 instances).
    #[schemars(regex(pattern = patterns::TG_ARN), extend("x-pattern-hint" = "be a target group ARN"))]
    pub blue_target_group_arn: Val<String>,
    /// ARN of the new target group (e.g. ECS Fargate tasks). When a `health_gate` block is set, this target group is
    /// always among the ones it checks.
    #[schemars(regex(pattern = patterns::TG_ARN), extend("x-pattern-hint" = "be a target group ARN"))]
    pub green_target_group_arn: Val<String>,
    /// Whole percent (0–100) of requests forwarded to green; blue gets the rest (weights blue = 100 − traffic, green = traffic).
    #[schemars(range(min = 0, max = 100))]
    pub traffic: Val<i64>,
    /// Requests carrying this header go to green only, whatever `traffic` is.
    #[serde(default)]
    pub test_route: Option<TestRouteModel>,
    /// Target-group stickiness for the weighted rule. Sticky clients ignore weight changes until their cookie expires.
    #[serde(default)]
    pub stickiness: Option<StickinessModel>,
    /// How an apply moves green traffic up: intermediate steps and a bake time after each.
    #[serde(default)]
    pub rollout: Option<RolloutModel>,
    /// Conditions on green checked before any increase, every `check_interval` during a bake and at its end. The green target group
    /// is always checked, in addition to `target_group_arns`.
    #[serde(default)]
    pub health_gate: Option<HealthGateModel>,
    /// `rollback` (default) or `halt`, as for `bluegreen_switch`.
    #[serde(default)]
    #[schemars(extend("default" = "rollback"))]
    pub on_gate_failure: Val<OnGateFailureModel>,
    /// `delete` (default): remove the rules; refused while green has traffic, which would silently fall back to the
    /// listener's default action. `promote` (refused while split): the side holding 100 % keeps exactly the requests the
    /// canary routed. With `match`, the weighted rule stays at its priority as a plain forward to that side (no longer
    /// managed) and the listener's default action is untouched; without `match` (the rule matches every request) the
    /// listener's default action forwards to that side. The test rule is removed either way. The destroy plan says which.
    #[serde(default)]
    #[schemars(extend("default" = "delete"))]
    pub on_destroy: Val<CanaryDestroyModel>,
    /// Same as `rule_arn`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
    /// ARN of the weighted rule.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub rule_arn: Val<String>,
    /// ARN of the test-header rule, when `test_route` is set.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub test_rule_arn: Val<String>,
    /// Forward weight of the blue target group (100 − traffic).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub blue_weight: Val<i64>,
    /// Forward weight of the green target group (traffic).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub green_weight: Val<i64>,
    /// Which side receives requests: `blue` (traffic 0), `green` (100) or `split`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub active: Val<String>,
    /// When the weights in effect were reached (RFC 3339, UTC): when this provider modified the rule. The step's clock: a
    /// bake is measured from it, so an apply that starts at one of `rollout.steps` first finishes that step's
    /// `bake_time`, waiting only what is left of it (time spent there before a Ctrl-C or between applies counts). Refresh
    /// keeps it while the weights are unchanged; weights changed outside Terraform get the time refresh saw them.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub shifted_at: Val<String>,
}

/// Request conditions of the weighted rule (at most 5 values in all).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct MatchModel {
    /// Host names, e.g. `["api.example.com"]`; up to 3.
    #[serde(default)]
    #[schemars(length(min = 1, max = 3))]
    pub host_header: Val<Vec<String>>,
    /// Path patterns, e.g. `["/api/*"]`; up to 3.
    #[serde(default)]
    #[schemars(length(min = 1, max = 3))]
    pub path_pattern: Val<Vec<String>>,
}

/// The QA route: a header that sends a request to green only.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct TestRouteModel {
    /// Header name, e.g. `X-Canary`: up to 40 characters, no wildcards, not `Host`.
    #[schemars(length(min = 1, max = 40))]
    pub header_name: Val<String>,
    /// Header values that match, e.g. `["1"]`; up to 3. Sensitive: a header that opens a route to green is often a shared secret.
    #[schemars(length(min = 1, max = 3), extend("x-sensitive" = true))]
    pub header_values: Val<Vec<String>>,
    /// Priority of the test rule; must sort before the weighted rule (be lower). Defaults to `priority - 1`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 50000), extend("x-computed" = true))]
    pub priority: Val<i64>,
}

/// Target-group stickiness.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct StickinessModel {
    /// How long a client sticks to the target group it got, 1s–7d, e.g. `"1h"`.
    pub duration: Val<String>,
}

impl StickinessModel {
    fn seconds(&self) -> Option<u64> {
        self.duration.known().and_then(|d| duration::parse(d).ok()).map(|d| d.as_secs())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CanaryDestroyModel {
    /// Remove the rules (refused while green has traffic).
    Delete,
    /// Point the listener's default action at the side at 100 %, then remove the rules.
    Promote,
}

impl Clocked for CanaryModel {
    fn clock(&self) -> (&Val<i64>, &Val<String>) {
        (&self.green_weight, &self.shifted_at)
    }
    fn clock_mut(&mut self) -> (&mut Val<i64>, &mut Val<String>) {
        (&mut self.traffic, &mut self.shifted_at)
    }
}

impl CanaryModel {
    /// The canary's own target groups, which its metric gates default to.
    fn gate_defaults(&self) -> GateDefaults {
        GateDefaults::canary(&self.listener_arn, &self.green_target_group_arn, &self.blue_target_group_arn)
    }

    /// `traffic` and what derives from it, from a split: plan, apply, read and import all set them here.
    fn set_split(&mut self, split: Option<TrafficSplit>) {
        (self.traffic, self.blue_weight, self.green_weight, self.active) = common::split_attrs(split, &self.traffic);
    }

    fn test_priority(&self) -> Option<i64> {
        let t = self.test_route.as_ref()?;
        match &t.priority {
            Val::Known(p) => Some(*p),
            // Checked: a configured priority out of range is reported by validation, not a crash here.
            Val::Null => self.priority.known().and_then(|p| p.checked_sub(1)),
            Val::Unknown => None,
        }
    }

    fn spec(&self) -> Result<CanarySpec, Diagnostics> {
        let known = || -> Option<CanarySpec> {
            let test_route = match &self.test_route {
                Some(t) => Some(TestRoute {
                    header_name: t.header_name.known()?.clone(),
                    header_values: t.header_values.known()?.clone(),
                    // Filled in by `complete` when not configured.
                    priority: i32::try_from(*t.priority.known()?).ok()?,
                }),
                None => None,
            };
            Some(CanarySpec {
                listener_arn: self.listener_arn.known()?.clone(),
                priority: i32::try_from(*self.priority.known()?).ok()?,
                hosts: self.r#match.as_ref().and_then(|m| m.host_header.known().cloned()).unwrap_or_default(),
                paths: self.r#match.as_ref().and_then(|m| m.path_pattern.known().cloned()).unwrap_or_default(),
                blue_target_group: self.blue_target_group_arn.known()?.clone(),
                green_target_group: self.green_target_group_arn.known()?.clone(),
                test_route,
                stickiness_seconds: self
                    .stickiness
                    .as_ref()
                    .and_then(|s| s.duration.known())
                    .and_then(|d| duration::parse(d).ok())
                    .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX)),
            })
        };
        known().ok_or_else(|| not_known_at_apply(CanaryResource::TYPE_NAME))
    }

    fn destroy_mode(&self) -> Result<OnDestroy, Diagnostics> {
        Ok(match self.on_destroy.needed(CanaryResource::TYPE_NAME)? {
            CanaryDestroyModel::Promote => OnDestroy::Promote,
            CanaryDestroyModel::Delete => OnDestroy::Delete,
        })
    }

    /// The engine's plan to the configured traffic, on the clock of the `prior` state; an error for a value that cannot
    /// be converted.
    fn shift_plan(&self, ctx: &Ctx, prior: Option<&CanaryModel>) -> Result<ShiftPlan, Diagnostics> {
        let clock = common::step_clock(
            prior.map(|p| &p.green_weight),
            prior.map(|p| &p.shifted_at),
            self.rollout.as_ref(),
            ctx,
            CanaryResource::TYPE_NAME,
        )?;
        let plan = common::shift_plan(
            &self.traffic,
            self.rollout.as_ref(),
            self.health_gate.as_ref(),
            &self.gate_defaults(),
            &self.on_gate_failure,
            None,
        )?;
        Ok(ShiftPlan { clock, ..plan })
    }

    /// The core's view of the whole canary. Only called at apply, when everything is known.
    fn cutover(&self, ctx: &Ctx) -> Result<AlbCutover, Diagnostics> {
        Ok(AlbCutover { api: ctx.clients.elbv2.clone(), spec: self.spec()?, ids: self.ids(), on_destroy: self.destroy_mode()? })
    }

    fn ids(&self) -> CanaryIds {
        CanaryIds { rule_arn: self.rule_arn.known().cloned().unwrap_or_default(), test_rule_arn: self.test_rule_arn.known().cloned() }
    }

    fn with_reality(mut self, split: TrafficSplit, ids: &CanaryIds) -> CanaryModel {
        self.set_split(Some(split));
        self.rule_arn = Val::Known(ids.rule_arn.clone());
        self.id = Val::Known(ids.rule_arn.clone());
        self.test_rule_arn = ids.test_rule_arn.clone().into();
        self
    }
}

pub struct CanaryResource;

/// What the canary keeps beside its state (the protocol's private state).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CanaryPrivate {
    /// Refresh found the weighted rule deleted out of band while the test rule survives: the next apply makes a new
    /// weighted rule from the configuration (there is no prior one to update).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    weighted_rule_missing: bool,
}

/// Registers the listener priorities this canary takes with the plan's other resources; a second canary on one of
/// them is an error naming the attribute.
fn check_claims(ctx: &Ctx, m: &CanaryModel, diags: &mut Diagnostics) {
    let Some(listener) = m.listener_arn.known() else { return };
    let fingerprint =
        serde_json::to_string(&(&m.listener_arn, &m.priority, &m.r#match, &m.test_route, &m.blue_target_group_arn)).unwrap_or_default();
    let test = m.test_route.as_ref().map(|t| (m.test_priority(), t.priority.is_null()));
    let wanted =
        [(m.priority.known().copied(), attr_path(&["priority"]), "priority".to_string())].into_iter().chain(test.map(|(p, implicit)| {
            let what = if implicit { "the test route's priority (priority − 1)" } else { "test_route.priority" };
            (p, attr_path(&["test_route", "priority"]), what.to_string())
        }));
    for (priority, path, what) in wanted {
        let Some(priority) = priority else { continue };
        let key = ClaimKey::Priority { listener: listener.clone(), priority };
        if let Some(other) = ctx.claims.claim(key, Claimant { fingerprint: fingerprint.clone(), spelling: priority.to_string() }) {
            diags.error_at(
                path,
                "Two canaries on one listener priority",
                format!(
                    "Priority {} on listener {listener} ({what}) is also taken by another canary (bluegreen_canary_listener or canary_listener) in this configuration. \
                     A listener has one rule per priority: give each canary its own (a canary with a test route takes two, \
                     priority and priority − 1).",
                    other.spelling
                ),
            );
        }
    }
}

/// The plan's check of the listener: the target groups serve its load balancer (ELBv2 refuses a rule forwarding to
/// another load balancer's target group), and its priorities are free (but for the canary's own rules).
async fn check_listener(ctx: &Ctx, prior: Option<&CanaryModel>, m: &CanaryModel, diags: &mut Diagnostics) {
    let Ok(spec) = m.spec() else { return };
    let api = ctx.clients.elbv2.as_ref();
    if let Some(lb) = common::listener_load_balancer(&spec.listener_arn) {
        let arns = vec![spec.blue_target_group.clone(), spec.green_target_group.clone()];
        if let Ok(tgs) = api.describe_target_groups(&bluegreen_core::aws::elbv2::Selector::Arns(arns)).await {
            for (attr, arn) in [("blue_target_group_arn", &spec.blue_target_group), ("green_target_group_arn", &spec.green_target_group)] {
                let Some(tg) = tgs.iter().find(|t| &t.arn == arn) else { continue };
                if !tg.load_balancer_arns.is_empty() && !tg.load_balancer_arns.contains(&lb) {
                    diags.error_at(
                        attr_path(&[attr]),
                        "Target group behind another load balancer",
                        format!(
                            "Target group {} ({arn}) serves {}, not the listener's load balancer {lb}. A listener rule can only \
                             forward to target groups of its own load balancer (AWS refuses the rule at apply), and the gates \
                             would measure requests that never pass through this listener. Use a target group registered with \
                             this load balancer.",
                            tg.name,
                            tg.load_balancer_arns.join(", ")
                        ),
                    );
                }
            }
        }
    }
    let ids = prior.map(|p| p.ids()).unwrap_or_default();
    // A failed read is left to the apply, which reads again.
    if let Err(e @ Error::Refused { kind, .. }) = canary::check_priorities_free(api, &spec, &ids).await {
        let implicit = m.test_route.as_ref().is_some_and(|t| m.priority.known().zip(t.priority.known()).is_some_and(|(p, t)| *t == p - 1));
        let (path, note) = match kind {
            // The test priority is not in the configuration: point at the one it derives from.
            Refusal::TestPriorityInUse if implicit => (
                attr_path(&["priority"]),
                " (test_route.priority defaults to priority − 1; set it to another free priority below priority)",
            ),
            Refusal::TestPriorityInUse => (attr_path(&["test_route", "priority"]), ""),
            _ => (attr_path(&["priority"]), ""),
        };
        let mut d = common::error_from(&e, Some(path), "Creating the canary rules");
        if let Some(first) = d.0.first_mut() {
            first.detail = format!("{}{note}", first.detail);
        }
        diags.extend(d);
    }
}

/// What a promoting destroy does with the requests the canary routed, said at plan (Terraform ≥ 1.3 plans destroys
/// through the provider) and again when it is done: a canary with `match` leaves a plain rule for its requests, one
/// without (`/*`, every request) hands them to the listener's default action. Empty unless promoting at 0 or 100 %.
fn promotion_notice(m: &CanaryModel, spec: &CanarySpec) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let (Some(CanaryDestroyModel::Promote), Some(traffic)) = (m.on_destroy.known(), m.traffic.known()) else { return diags };
    let (side, tg) = match traffic {
        0 => ("blue", &spec.blue_target_group),
        100 => ("green", &spec.green_target_group),
        _ => return diags,
    };
    let detail = match spec.promotion() {
        Promotion::DefaultAction => format!(
            "The weighted rule matches every request, so the listener's default action now forwards to the {side} target group \
             ({tg}), and the canary's rules are removed."
        ),
        Promotion::PlainRule => {
            let what: Vec<String> =
                spec.hosts.iter().map(|h| format!("host {h}")).chain(spec.paths.iter().map(|p| format!("path {p}"))).collect();
            format!(
                "The weighted rule at priority {} stays as a plain forward of its requests ({}) to the {side} target group ({tg}), \
                 no longer managed by Terraform; the test rule is removed. The listener's default action is untouched, so \
                 requests the canary did not route go where they went before.",
                spec.priority,
                what.join(", ")
            )
        }
    };
    diags.warning_at(attr_path(&["on_destroy"]), format!("on_destroy = \"promote\": {side} keeps the canary's requests"), detail);
    diags
}

/// Where a refusal points: the priority that is taken.
fn refusal_path(e: &Error) -> Option<crate::value::Path> {
    match e {
        Error::Refused { kind: Refusal::TestPriorityInUse, .. } => Some(attr_path(&["test_route"])),
        Error::Refused { .. } => Some(attr_path(&["priority"])),
        _ => None,
    }
}

/// A rule's conditions by kind.
#[derive(Default)]
struct RuleConditions {
    hosts: Vec<String>,
    paths: Vec<String>,
    header: Option<(String, Vec<String>)>,
}

fn conditions_of(rule: &bluegreen_core::aws::elbv2::Rule) -> RuleConditions {
    let mut c = RuleConditions::default();
    for cond in &rule.conditions {
        match cond {
            Condition::HostHeader(v) => c.hosts = v.clone(),
            Condition::PathPattern(v) => c.paths = v.clone(),
            Condition::HttpHeader { name, values } => c.header = Some((name.clone(), values.clone())),
            Condition::Other(_) => {}
        }
    }
    c
}

/// `listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>` → the listener's ARN.
fn listener_of(rule_arn: &str) -> Option<String> {
    let (head, tail) = rule_arn.split_once(":listener-rule/")?;
    let (listener_path, _rule_id) = tail.rsplit_once('/')?;
    Some(format!("{head}:listener/{listener_path}"))
}

#[async_trait]
impl ResourceImpl for CanaryResource {
    type Model = CanaryModel;
    type Private = CanaryPrivate;
    const TYPE_NAME: &'static str = "bluegreen_canary_listener";
    const REPLACE_ON: &'static [ReplaceOn<CanaryModel>] = &[ReplaceOn { path: &["listener_arn"], key: |m| m.listener_arn.clone() }];

    fn validate(m: &CanaryModel, diags: &mut Diagnostics) {
        if let (Some(b), Some(g)) = (m.blue_target_group_arn.known(), m.green_target_group_arn.known()) {
            if b == g {
                diags.error_at(
                    attr_path(&["green_target_group_arn"]),
                    "Blue and green are the same target group",
                    "green_target_group_arn must be the new stack's target group; it equals blue_target_group_arn, so the canary would move nothing.",
                );
            }
        }
        let main_values =
            m.r#match.as_ref().map_or(0, |mm| mm.host_header.known().map_or(0, Vec::len) + mm.path_pattern.known().map_or(0, Vec::len));
        if main_values > 5 {
            diags.error_at(
                attr_path(&["match", "path_pattern"]),
                "Too many condition values",
                format!(
                    "A rule allows at most 5 condition values in all; match has {main_values} (host_header and path_pattern together)."
                ),
            );
        }
        if let Some(t) = &m.test_route {
            let p = attr_path(&["test_route"]);
            if let Some(name) = t.header_name.known() {
                if name.eq_ignore_ascii_case("host") {
                    diags.error_at(
                        p.clone().attr("header_name"),
                        "Invalid header_name",
                        "The Host header cannot be a header condition; use match { host_header = [...] }.",
                    );
                } else if name.contains(['*', '?']) {
                    diags.error_at(
                        p.clone().attr("header_name"),
                        "Invalid header_name",
                        format!("{name:?} contains a wildcard; header names must be literal."),
                    );
                } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_!#$%&'+.^`|~".contains(c)) {
                    diags.error_at(
                        p.clone().attr("header_name"),
                        "Invalid header_name",
                        format!("{name:?} is not an HTTP header name (letters, digits and - _ . and a few symbols)."),
                    );
                }
            }
            let test_values = main_values + t.header_values.known().map_or(0, Vec::len);
            if test_values > 5 && main_values <= 5 {
                diags.error_at(
                    p.clone().attr("header_values"),
                    "Too many condition values",
                    format!("The test rule repeats the match conditions and adds the header: {test_values} values, at most 5 allowed."),
                );
            }
            // An out-of-range priority (either) is reported by the schema; comparing with it would only add noise.
            let in_range = |p: &i64| (1..=50_000).contains(p);
            let configured_out_of_range = t.priority.known().is_some_and(|p| !in_range(p));
            if let (Some(tp), Some(mp), false) = (m.test_priority(), m.priority.known().filter(|p| in_range(p)), configured_out_of_range) {
                if tp >= *mp {
                    diags.error_at(
                        p.clone().attr("priority"),
                        "Test route must come first",
                        format!("The test rule's priority ({tp}) must be lower than the weighted rule's ({mp}) so the listener evaluates it first."),
                    );
                } else if tp < 1 && *mp == 1 {
                    diags.error_at(
                        attr_path(&["priority"]),
                        "No room for the test route",
                        "With priority = 1 the test rule has no lower priority; set test_route.priority or raise priority.",
                    );
                }
            }
        }
        if let Some(s) = &m.stickiness {
            common::check_duration(
                &s.duration,
                attr_path(&["stickiness", "duration"]),
                "stickiness duration",
                Duration::from_secs(1),
                Duration::from_secs(604_800),
                diags,
            );
            let bake = m.rollout.as_ref().and_then(|r| r.bake_time.known()).and_then(|b| duration::parse(b).ok());
            if let (Some(d), Some(b)) = (s.duration.known().and_then(|d| duration::parse(d).ok()), bake) {
                if d > b && !b.is_zero() {
                    diags.warning_at(
                        attr_path(&["stickiness", "duration"]),
                        "Stickiness outlasts the bake time",
                        format!(
                            "Clients stick to a target group for {}, longer than the rollout's bake time ({}): a step's new weights reach sticky clients only after their cookie expires, so gates see less green traffic than the step promises.",
                            duration::format(d),
                            duration::format(b)
                        ),
                    );
                }
            }
        }
        if let Some(r) = &m.rollout {
            common::validate_rollout(r, &attr_path(&["rollout"]), diags);
        }
        if let Some(g) = &m.health_gate {
            common::validate_gate(g, &attr_path(&["health_gate"]), GateOwner::Canary, diags);
        }
    }

    fn complete(m: &mut CanaryModel) {
        if let Some(g) = m.health_gate.as_mut() {
            common::complete_gate(g, true);
        }
        // The test rule's priority defaults to just before the weighted rule's (validation refuses one below 1).
        let default = m.priority.as_ref().known().and_then(|p| p.checked_sub(1)).filter(|p| *p >= 1);
        if let Some(t) = m.test_route.as_mut() {
            match (&t.priority, default, m.priority.is_unknown()) {
                (Val::Null, Some(d), _) => t.priority = Val::Known(d),
                (Val::Null, None, true) => t.priority = Val::Unknown,
                _ => {}
            }
        }
    }

    async fn plan(
        ctx: Option<&Ctx>,
        prior: Option<&CanaryModel>,
        mut proposed: CanaryModel,
        private: &mut CanaryPrivate,
    ) -> Planned<CanaryModel> {
        // A stickiness duration spelled differently from the prior one but meaning the same (an import states "1m" for
        // a configured "60s") keeps the prior spelling: nothing to change.
        if let (Some(p), Some(d)) = (prior.and_then(|p| p.stickiness.as_ref()), proposed.stickiness.as_mut()) {
            if p.seconds().is_some() && p.seconds() == d.seconds() {
                d.duration = p.duration.clone();
            }
        }
        // The rules' ARNs: kept from the prior state, unknown where apply makes a new rule.
        match prior {
            None => {
                proposed.rule_arn = Val::Unknown;
                proposed.id = Val::Unknown;
                proposed.test_rule_arn = if proposed.test_route.is_some() { Val::Unknown } else { Val::Null };
            }
            Some(p) => {
                proposed.rule_arn = p.rule_arn.clone();
                proposed.id = p.id.clone();
                if private.weighted_rule_missing {
                    // Read found the weighted rule deleted: apply makes a new one.
                    proposed.rule_arn = Val::Unknown;
                    proposed.id = Val::Unknown;
                }
                let replaced = !replace_paths::<Self>(p, &proposed).is_empty();
                if replaced {
                    proposed.rule_arn = Val::Unknown;
                    proposed.id = Val::Unknown;
                }
                proposed.test_rule_arn = match (&p.test_route, &proposed.test_route) {
                    (_, None) => Val::Null,
                    (Some(_), Some(_)) if !replaced && p.test_rule_arn.is_set() => p.test_rule_arn.clone(),
                    _ => Val::Unknown,
                };
            }
        }
        // The step's clock: unknown when the split will change; an apply that may pause at a step ends at weights not
        // known now. A replaced canary starts a clock of its own.
        let kept = prior.filter(|p| replace_paths::<Self>(p, &proposed).is_empty() && !private.weighted_rule_missing).map(|p| {
            common::PriorSplit {
                traffic: &p.traffic,
                blue_weight: &p.blue_weight,
                green_weight: &p.green_weight,
                active: &p.active,
                shifted_at: &p.shifted_at,
            }
        });
        (proposed.blue_weight, proposed.green_weight, proposed.active, proposed.shifted_at) =
            common::plan_split(kept, &proposed.traffic, proposed.rollout.as_ref(), ctx);
        let mut diags = Diagnostics::new();
        if let Some(ctx) = ctx {
            check_claims(ctx, &proposed, &mut diags);
            // What a create or an update of the rules would meet on the listener, from cached reads.
            let same_place = prior.is_some_and(|p| {
                !private.weighted_rule_missing
                    && replace_paths::<Self>(p, &proposed).is_empty()
                    && (&p.priority, p.test_priority(), &p.blue_target_group_arn, &p.green_target_group_arn)
                        == (&proposed.priority, proposed.test_priority(), &proposed.blue_target_group_arn, &proposed.green_target_group_arn)
            });
            if !diags.has_errors() && !same_place {
                check_listener(ctx, prior, &proposed, &mut diags).await;
            }
        }
        let increasing = common::may_increase(prior.map(|p| &p.traffic), &proposed.traffic);
        common::check_gate_setup(ctx, increasing, proposed.health_gate.as_ref(), &proposed.gate_defaults(), &mut diags).await;
        Planned { model: proposed, diags }
    }

    async fn plan_destroy(ctx: Option<&Ctx>, prior: &CanaryModel) -> Diagnostics {
        let Some(Ok(cutover)) = ctx.map(|ctx| prior.cutover(ctx)) else { return Diagnostics::new() };
        match cutover.check_destroy().await {
            // Only a refusal is final here; a failed read is left to the apply, which reads again.
            Err(e @ Error::Refused { .. }) => common::error_from(&e, Some(attr_path(&["traffic"])), "Destroying the canary"),
            _ => promotion_notice(prior, &cutover.spec),
        }
    }

    async fn create(ctx: &Ctx, planned: CanaryModel, _: &mut CanaryPrivate) -> Applied<CanaryModel> {
        let cutover = match planned.cutover(ctx) {
            Ok(c) => c,
            Err(diags) => return Applied { state: None, diags },
        };
        let plan = match planned.shift_plan(ctx, None) {
            Ok(p) => p,
            Err(diags) => return Applied { state: None, diags },
        };
        let words = common::CreateWords {
            creating: "Creating the canary rules",
            refusal_path,
            waiting: "Waiting for the listener",
            blocked: "Nothing was created; the listener forwards as before",
            undone: |_| "The canary was not created; the listener forwards as before".to_string(),
            now: "The listener now forwards",
        };
        let (kept, diags) = common::create(ctx, &cutover, &plan, &words).await;
        let traffic = planned.traffic.clone();
        let state = kept.map(|k| {
            planned
                .with_reality(k.at, &k.made)
                .with_clock(common::shifted_at(None, None, k.at, Some(k.shifted_at)), k.paused.then_some(&traffic))
        });
        Applied { state, diags }
    }

    async fn update(ctx: &Ctx, prior: CanaryModel, planned: CanaryModel, private: &mut CanaryPrivate) -> Applied<CanaryModel> {
        // With the weighted rule deleted (see read) there is no prior rule to update: make it as planned.
        let prior_spec = if private.weighted_rule_missing { planned.spec() } else { prior.spec() };
        let (prior_spec, cutover, plan) = match (prior_spec, planned.cutover(ctx), planned.shift_plan(ctx, Some(&prior))) {
            (Ok(a), Ok(c), Ok(p)) => (a, c, p),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => return Applied { state: Some(prior), diags: d },
        };
        let probe = AwsGateProbe::new(&ctx.clients);
        match cutover::update(&cutover, &(prior_spec, prior.ids()), &probe, &plan, &ctx.stop).await {
            Updated::Unread(e) => Applied { state: Some(prior), diags: common::error_from(&e, None, "Reading the canary rules") },
            Updated::NotReconciled { at, in_place, error } => {
                let shifted_at = prior.shifted_at_from(at, None);
                Applied {
                    state: Some(prior.with_reality(at, &in_place).with_clock(shifted_at, None)),
                    diags: common::error_from(&error, refusal_path(&error), "Updating the canary rules"),
                }
            }
            Updated::Unsettled { made, at, error } => {
                *private = CanaryPrivate::default();
                let shifted_at = prior.shifted_at_from(at, None);
                Applied {
                    state: Some(planned.with_reality(at, &made).with_clock(shifted_at, None)),
                    diags: common::error_from(&error, None, "Updating the canary rules"),
                }
            }
            Updated::Shifted { made, report } => {
                *private = CanaryPrivate::default();
                let mut diags = Diagnostics::new();
                common::outcome_diags(&report.outcome, report.at, plan.to, &mut diags, "The listener now forwards");
                let shifted_at = prior.shifted_at_from(report.at, report.shifted_at);
                let paused = matches!(report.outcome, ShiftOutcome::Paused(_));
                let traffic = planned.traffic.clone();
                let state = planned.with_reality(report.at, &made).with_clock(shifted_at, paused.then_some(&traffic));
                Applied { state: Some(state), diags }
            }
        }
    }

    async fn delete(ctx: &Ctx, prior: CanaryModel) -> Applied<CanaryModel> {
        let cutover = match prior.cutover(ctx) {
            Ok(c) => c,
            Err(diags) => return Applied { state: Some(prior), diags },
        };
        match cutover.destroy(&ctx.stop).await {
            Ok(_) => Applied { state: None, diags: promotion_notice(&prior, &cutover.spec) },
            Err(e) => {
                let path = if matches!(e, Error::Refused { .. }) { Some(attr_path(&["traffic"])) } else { None };
                Applied { state: Some(prior), diags: common::error_from(&e, path, "Destroying the canary") }
            }
        }
    }

    async fn read(ctx: &Ctx, mut state: CanaryModel, private: &mut CanaryPrivate) -> Applied<CanaryModel> {
        let ids = state.ids();
        let listener = state.listener_arn.known().cloned().unwrap_or_default();
        let observed = match canary::observe(ctx.clients.elbv2.as_ref(), &listener, &ids).await {
            Ok(o) => o,
            Err(e) => return Applied { state: Some(state), diags: common::error_from(&e, None, "Reading the canary rules") },
        };
        let Some(rule) = &observed.rule else {
            if observed.test_rule.is_some() {
                // Our test rule survives: keep the resource (and so the test
                // rule's ARN) and show the weighted rule as missing, so the plan
                // updates it back into existence.
                tracing::info!(rule = %ids.rule_arn, "the weighted rule is gone; the plan will recreate it");
                private.weighted_rule_missing = true;
                state.priority = Val::Null;
                state.shifted_at = state.shifted_at_from(TrafficSplit::ALL_BLUE, None);
                state.set_split(Some(TrafficSplit::ALL_BLUE));
                return Applied { state: Some(state), diags: Diagnostics::new() };
            }
            tracing::info!(rule = %ids.rule_arn, "the weighted rule is gone; the canary no longer exists");
            return Applied { state: None, diags: Diagnostics::new() };
        };
        private.weighted_rule_missing = false;

        if let Some(p) = rule.priority {
            state.priority = Val::Known(i64::from(p));
        }
        let RuleConditions { hosts, paths, .. } = conditions_of(rule);
        let default_all = paths == ["/*"] && hosts.is_empty();
        if !default_all || state.r#match.is_some() {
            let m = state.r#match.get_or_insert_with(MatchModel::default);
            let as_val = |v: Vec<String>| if v.is_empty() { Val::Null } else { Val::Known(v) };
            m.host_header = as_val(hosts);
            m.path_pattern = as_val(if default_all { Vec::new() } else { paths });
            if m.host_header.is_null() && m.path_pattern.is_null() {
                state.r#match = None;
            }
        }
        match (&observed.test_rule, state.test_route.as_mut()) {
            (None, _) => {
                state.test_route = None;
                state.test_rule_arn = Val::Null;
            }
            (Some(tr), Some(t)) => {
                if let Some((name, values)) = conditions_of(tr).header {
                    if !t.header_name.known().is_some_and(|n| n.eq_ignore_ascii_case(&name)) {
                        t.header_name = Val::Known(name);
                    }
                    t.header_values = Val::Known(values);
                }
                if let Some(p) = tr.priority {
                    t.priority = Val::Known(i64::from(p));
                }
            }
            (Some(_), None) => {}
        }
        // Stickiness as the rule has it; the configured spelling is kept while it means the same ("60s" = "1m").
        let sticky = rule.actions.iter().find(|a| a.action_type == "forward").and_then(|a| a.stickiness_seconds);
        match sticky.and_then(|secs| u64::try_from(secs).ok()) {
            None => state.stickiness = None,
            Some(secs) if state.stickiness.as_ref().and_then(StickinessModel::seconds) == Some(secs) => {}
            Some(secs) => state.stickiness = Some(StickinessModel { duration: Val::Known(duration::format(Duration::from_secs(secs))) }),
        }
        let blue = state.blue_target_group_arn.known().cloned().unwrap_or_default();
        let green = state.green_target_group_arn.known().cloned().unwrap_or_default();
        let split = observed.split(&blue, &green).unwrap_or(TrafficSplit::ALL_BLUE);
        state.shifted_at = state.shifted_at_from(split, None);
        state.set_split(Some(split));
        Applied { state: Some(state), diags: Diagnostics::new() }
    }

    async fn import(ctx: &Ctx, id: &str) -> Result<CanaryModel, Diagnostics> {
        let bad = |why: String| {
            let mut d = Diagnostics::new();
            d.error("Invalid import id", format!("{why} Use <rule_arn> or <rule_arn>,<test_rule_arn>."));
            d
        };
        let (rule_arn, test_arn) = match id.split_once(',') {
            Some((a, b)) => (a.trim().to_string(), Some(b.trim().to_string())),
            None => (id.trim().to_string(), None),
        };
        let listener = listener_of(&rule_arn).ok_or_else(|| bad(format!("{rule_arn:?} is not a listener rule ARN.")))?;
        let ids = CanaryIds { rule_arn: rule_arn.clone(), test_rule_arn: test_arn.clone() };
        let observed = canary::observe(ctx.clients.elbv2.as_ref(), &listener, &ids)
            .await
            .map_err(|e| common::error_from(&e, None, "Importing the canary"))?;
        let rule = observed.rule.as_ref().ok_or_else(|| bad(format!("No rule {rule_arn:?} on listener {listener}.")))?;
        let tgs: Vec<String> = rule
            .actions
            .iter()
            .filter(|a| a.action_type == "forward")
            .flat_map(|a| a.target_groups.iter().map(|t| t.arn.clone()))
            .collect();
        let [blue, green] = tgs.as_slice() else {
            return Err(bad(format!("Rule {rule_arn} does not forward to exactly two target groups (blue first, green second).")));
        };
        if test_arn.is_some() && observed.test_rule.is_none() {
            return Err(bad(format!("No test rule {:?} on listener {listener}.", test_arn.unwrap_or_default())));
        }
        let mut m = CanaryModel {
            listener_arn: Val::Known(listener),
            blue_target_group_arn: Val::Known(blue.clone()),
            green_target_group_arn: Val::Known(green.clone()),
            rule_arn: Val::Known(rule_arn.clone()),
            id: Val::Known(rule_arn),
            test_rule_arn: test_arn.clone().into(),
            test_route: observed.test_rule.as_ref().map(|_| TestRouteModel::default()),
            ..CanaryModel::default()
        };
        let RuleConditions { hosts, paths, .. } = conditions_of(rule);
        if !(hosts.is_empty() && (paths.is_empty() || paths == ["/*"])) {
            m.r#match = Some(MatchModel::default());
        }
        m.priority = rule.priority.map(i64::from).into();
        let Applied { state, diags } = Self::read(ctx, m, &mut CanaryPrivate::default()).await;
        state.ok_or(diags)
    }
}
