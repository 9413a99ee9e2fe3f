//! Plans of both resources over generated (prior, configuration) pairs,
//! judged by the in-tree copy of Terraform's plan rules ([`crate::plancheck`]).
//!
//! From one configuration with every optional attribute and block set, the
//! shapes are: each optional attribute or block removed (at every depth),
//! the configuration with every optional one removed, and that minimal one
//! with each top-level optional element added back. Every ordered pair of
//! shapes (X, Y) is one user edit — the state after applying X is the prior,
//! Y the new configuration — and so is each settable leaf of the full
//! configuration given another value, and back. Terraform 1.0 and
//! newer versions propose different new states for the same pair; the plan
//! must be valid, and the same, for both — and re-planning Y over its own
//! applied state must change nothing.

use crate::plancheck::{self, Proposal};
use crate::resource::Resource;
use crate::resources::canary_listener::{CanaryDestroyModel, CanaryModel, MatchModel, StickinessModel, TestRouteModel};
use crate::resources::common::{
    ErrorRateModel, HealthGateModel, HttpCheckModel, InsufficientDataModel, LatencyModel, ObservedTrafficModel, OnGateFailureModel,
    RolloutModel, SwitchRolloutModel,
};
use crate::resources::switch::{AliasModel, OnDestroyModel, SideModel, SwitchModel};
use crate::schema::{Block, Nesting};
use crate::typed::{self, Val};
use crate::value::Value;

fn k<T>(v: T) -> Val<T> {
    Val::Known(v)
}

fn s(v: &str) -> Val<String> {
    Val::Known(v.to_string())
}

fn strings(v: &[&str]) -> Val<Vec<String>> {
    Val::Known(v.iter().map(|x| x.to_string()).collect())
}

const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green/0123456789abcdef";
const TG2: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green2/0123456789abcdef";
const BLUE_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/legacy/0123456789abcdef/0123456789abcdef";

/// A private CA's certificate in PEM, one per variant.
fn ca_pem(variant: usize) -> String {
    static PEMS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    PEMS.get_or_init(|| {
        ["ca-a.internal", "ca-b.internal"]
            .iter()
            .map(|n| rcgen::generate_simple_self_signed(vec![n.to_string()]).expect("a throwaway certificate").cert.pem())
            .collect()
    })[variant]
        .clone()
}

fn gate(variant: usize) -> HealthGateModel {
    HealthGateModel {
        target_group_arns: strings(&[[TG, TG2][variant]]),
        min_healthy_targets: k([2, 3][variant]),
        http_check: Some(HttpCheckModel {
            url: s(["https://green.example.net/healthz", "http://green.example.net/ready"][variant]),
            host_header: s(["api.example.com", "www.example.com"][variant]),
            expect_status: k(vec![[200, 204][variant]]),
            ca_bundle: Val::Known(ca_pem(variant)),
            insecure_tls: k(variant == 0),
            timeout: s(["3s", "7s"][variant]),
        }),
        cloudwatch_alarms: strings(&[["api-green-5xx", "api-green-unhealthy"][variant]]),
        alarm_insufficient_data: k([InsufficientDataModel::Fail, InsufficientDataModel::Pass][variant]),
        check_interval: s(["10s", "1m"][variant]),
        error_rate: Some(ErrorRateModel {
            green_target_group_arn: s([TG, TG2][variant]),
            blue_target_group_arn: s(BLUE_TG),
            window: s(["5m", "10m"][variant]),
            min_requests: k([100, 50][variant]),
            max_percent: k([1.0, 2.5][variant]),
            max_percent_over_blue: k([0.5, 1.0][variant]),
        }),
        latency: Some(LatencyModel {
            green_target_group_arn: s([TG, TG2][variant]),
            blue_target_group_arn: s(BLUE_TG),
            window: s(["5m", "2m"][variant]),
            min_requests: k([100, 10][variant]),
            statistic: s(["p99", "Average"][variant]),
            max: s(["800ms", "1s"][variant]),
            max_over_blue: s(["200ms", "300ms"][variant]),
        }),
        dns_failover: k(false),
        ignore_before: s(["2026-12-01T00:00:00Z", "2026-12-02T08:30:00Z"][variant]),
    }
}

fn switch_rollout(variant: usize) -> SwitchRolloutModel {
    SwitchRolloutModel {
        steps: k(vec![[10, 20][variant], 50]),
        bake_time: s(["1m", "2m"][variant]),
        max_wait_per_apply: s(["1h", "0s"][variant]),
        observed_traffic: Some(ObservedTrafficModel {
            blue_load_balancer_arn: s([
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/legacy/0123456789abcdef",
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/legacy2/0123456789abcdef",
            ][variant]),
            green_load_balancer_arn: s([
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/ecs/0123456789abcdef",
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/ecs2/0123456789abcdef",
            ][variant]),
            tolerance: k([10, 5][variant]),
            timeout: s(["15m", "5m"][variant]),
        }),
    }
}

fn rollout(variant: usize) -> RolloutModel {
    RolloutModel {
        steps: k(vec![[10, 20][variant], 50]),
        bake_time: s(["1m", "2m"][variant]),
        max_wait_per_apply: s(["1h", "0s"][variant]),
    }
}

/// A switch with every optional attribute and block set (`variant` 0 or 1: two different values for each).
fn full_switch(variant: usize) -> SwitchModel {
    SwitchModel {
        zone_id: s("Z0123456789ABCDEFGHIJ"),
        name: s("api.example.com"),
        r#type: s("A"),
        blue: Some(SideModel {
            set_identifier: s(["b1", "b2"][variant]),
            alias: Some(AliasModel {
                name: s(["legacy-1.elb.amazonaws.com", "legacy-2.elb.amazonaws.com"][variant]),
                zone_id: s(["Z35SXDOTRQ7X7K", "Z35SXDOTRQ7X7L"][variant]),
                evaluate_target_health: k(variant == 1),
            }),
            ..SideModel::default()
        }),
        green: Some(SideModel {
            set_identifier: s(["g1", "g2"][variant]),
            records: strings(&[["203.0.113.10", "203.0.113.11"][variant]]),
            ttl: k([30, 300][variant]),
            ..SideModel::default()
        }),
        traffic: k([40, 60][variant]),
        rollout: Some(switch_rollout(variant)),
        health_gate: Some(gate(variant)),
        on_gate_failure: k([OnGateFailureModel::Halt, OnGateFailureModel::Rollback][variant]),
        adopt_existing: k(variant == 0),
        on_destroy: k([OnDestroyModel::Delete, OnDestroyModel::Collapse][variant]),
        wait_for_sync: k(variant == 1),
        sync_timeout: s(["5m", "7m"][variant]),
        ..SwitchModel::default()
    }
}

/// A canary with every optional attribute and block set.
fn full_canary(variant: usize) -> CanaryModel {
    CanaryModel {
        listener_arn: s(LISTENER),
        priority: k([100, 200][variant]),
        r#match: Some(MatchModel {
            host_header: strings(&[["api.example.com", "www.example.com"][variant]]),
            path_pattern: strings(&[["/api/*", "/v2/*"][variant]]),
        }),
        blue_target_group_arn: s(BLUE_TG),
        green_target_group_arn: s([TG, TG2][variant]),
        traffic: k([40, 60][variant]),
        test_route: Some(TestRouteModel {
            header_name: s(["X-Canary", "X-Green"][variant]),
            header_values: strings(&[["1", "yes"][variant]]),
            priority: k([50, 150][variant]),
        }),
        stickiness: Some(StickinessModel { duration: s(["30s", "1m"][variant]) }),
        rollout: Some(rollout(variant)),
        health_gate: Some(gate(variant)),
        on_gate_failure: k([OnGateFailureModel::Halt, OnGateFailureModel::Rollback][variant]),
        on_destroy: k([CanaryDestroyModel::Promote, CanaryDestroyModel::Delete][variant]),
        ..CanaryModel::default()
    }
}

fn attr_mut<'a>(v: &'a mut Value, name: &str) -> &'a mut Value {
    match v {
        Value::Object(a) => a.get_mut(name).expect("attribute of the schema"),
        _ => panic!("not an object"),
    }
}

/// Every variant of `v` with one optional attribute or block removed, at every depth.
fn removals(block: &Block, v: &Value, out: &mut Vec<(String, Value)>) {
    let Value::Object(attrs) = v else { return };
    for a in block.attributes.iter().filter(|a| a.optional && !attrs[&a.name].is_null()) {
        let mut w = v.clone();
        *attr_mut(&mut w, &a.name) = Value::Null;
        out.push((format!("without {}", a.name), w));
    }
    for b in &block.blocks {
        let inner = &attrs[&b.name];
        if inner.is_null() {
            continue;
        }
        if b.min_items == 0 && b.nesting == Nesting::Single {
            let mut w = v.clone();
            *attr_mut(&mut w, &b.name) = Value::Null;
            out.push((format!("without {} {{}}", b.name), w));
        }
        let mut nested = Vec::new();
        removals(&b.block, inner, &mut nested);
        for (what, inner_w) in nested {
            let mut w = v.clone();
            *attr_mut(&mut w, &b.name) = inner_w;
            out.push((format!("{}: {what}", b.name), w));
        }
    }
}

/// Every variant of `a` with one settable leaf taken from `b`.
fn changes(block: &Block, a: &Value, b: &Value, out: &mut Vec<(String, Value)>) {
    let (Value::Object(aa), Value::Object(ba)) = (a, b) else { return };
    for at in block.attributes.iter().filter(|at| (at.optional || at.required) && aa[&at.name] != ba[&at.name]) {
        let mut w = a.clone();
        *attr_mut(&mut w, &at.name) = ba[&at.name].clone();
        out.push((format!("{} changed", at.name), w));
    }
    for nb in block.blocks.iter().filter(|nb| nb.nesting == Nesting::Single) {
        let mut nested = Vec::new();
        changes(&nb.block, &aa[&nb.name], &ba[&nb.name], &mut nested);
        for (what, inner) in nested {
            let mut w = a.clone();
            *attr_mut(&mut w, &nb.name) = inner;
            out.push((format!("{}: {what}", nb.name), w));
        }
    }
}

/// A configuration with a name for messages.
type Named = (String, Value);

/// The configurations a user may write, each with a name.
fn variants(r: &dyn Resource, full: &Value) -> Vec<(String, Value)> {
    let block = &r.schema().block;
    let mut out = vec![("full".to_string(), full.clone())];
    removals(block, full, &mut out);
    let mut minimal = full.clone();
    for a in block.attributes.iter().filter(|a| a.optional) {
        *attr_mut(&mut minimal, &a.name) = Value::Null;
    }
    for b in block.blocks.iter().filter(|b| b.min_items == 0 && b.nesting == Nesting::Single) {
        *attr_mut(&mut minimal, &b.name) = Value::Null;
    }
    out.push(("minimal".to_string(), minimal.clone()));
    let Value::Object(full_attrs) = full else { unreachable!() };
    for name in block.attributes.iter().filter(|a| a.optional).map(|a| &a.name).chain(block.blocks.iter().map(|b| &b.name)) {
        if minimal.get_attr(name) != full_attrs.get(name) {
            let mut w = minimal.clone();
            *attr_mut(&mut w, name) = full_attrs[name].clone();
            out.push((format!("minimal with {name}"), w));
        }
    }
    // Only what validates is a configuration Terraform would plan (removing blue's alias leaves no target, …).
    out.retain(|(_, v)| !r.validate(v).has_errors());
    out
}

/// The full configuration with one settable leaf changed, each.
fn changed(r: &dyn Resource, full: &Value, other: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    changes(&r.schema().block, full, other, &mut out);
    out.retain(|(_, v)| !r.validate(v).has_errors());
    out
}

async fn plan(r: &dyn Resource, prior: &Value, config: &Value) -> Result<Value, String> {
    let (planned, diags) = r.plan(None, prior, config, &[]).await;
    match planned {
        Some(p) if !diags.has_errors() => Ok(p.planned),
        _ => Err(diags.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect::<Vec<_>>().join("; ")),
    }
}

/// Plans every ordered pair of variants; returns what went wrong, one line per pair.
async fn check_pairs(r: &dyn Resource, full: &Value, other: &Value) -> (usize, Vec<String>) {
    let block = &r.schema().block;
    let ty = r.schema().implied_type();
    let vs = variants(r, full);
    assert!(vs.len() > 20, "{}: only {} variants", r.type_name(), vs.len());
    // Every ordered pair of shapes (blocks and attributes present or absent on either side), and each in-place
    // change of one value to and from the full configuration.
    let mut edits: Vec<(&Named, &Named)> = vs.iter().flat_map(|x| vs.iter().map(move |y| (x, y))).collect();
    let one_changed = changed(r, full, other);
    assert!(one_changed.len() > 10, "{}: only {} changes", r.type_name(), one_changed.len());
    edits.extend(one_changed.iter().flat_map(|c| [(&vs[0], c), (c, &vs[0])]));
    let mut problems = Vec::new();
    let mut pairs = 0;
    let mut created = std::collections::HashMap::new();
    for ((x_name, x), (y_name, y)) in edits {
        if !created.contains_key(x_name) {
            let state = match plan(r, &Value::Null, x).await {
                Ok(v) => {
                    problems.extend(
                        plancheck::assert_plan_valid(block, &Value::Null, x, &v).into_iter().map(|e| format!("create {x_name}: {e}")),
                    );
                    Some(plancheck::applied_state(&ty, &v))
                }
                Err(e) => {
                    problems.push(format!("create {x_name}: {e}"));
                    None
                }
            };
            created.insert(x_name.clone(), state);
        }
        let Some(prior) = &created[x_name] else { continue };
        pairs += 1;
        let what = format!("{} {x_name} → {y_name}", r.type_name());
        match plan(r, prior, y).await {
            Ok(planned) => {
                for e in plancheck::assert_plan_valid(block, prior, y, &planned) {
                    problems.push(format!("{what}: {e}"));
                }
                // Applied and planned again: nothing left to change.
                let state = plancheck::applied_state(&ty, &planned);
                match plan(r, &state, y).await {
                    Ok(again) if again == state => {}
                    Ok(again) => problems.push(format!("{what}: re-plan is not empty: {again:?} over {state:?}")),
                    Err(e) => problems.push(format!("{what}: re-plan: {e}")),
                }
            }
            Err(e) => problems.push(format!("{what}: {e}")),
        }
    }
    (pairs, problems)
}

fn encode<T: serde::Serialize>(r: &dyn Resource, m: &T) -> Value {
    typed::encode(m, &r.schema().implied_type()).expect("the model fits the schema")
}

#[tokio::test]
async fn every_edit_of_either_resource_plans_by_terraforms_rules() {
    let all = crate::resources::all();
    let mut report = Vec::new();
    // A type served under a second name (canary_listener) is the same implementation: checked once.
    for r in all.iter().filter(|r| r.alias_of().is_none()) {
        let (full, other) = match r.type_name() {
            "bluegreen_switch" => (encode(r.as_ref(), &full_switch(0)), encode(r.as_ref(), &full_switch(1))),
            "bluegreen_canary_listener" => (encode(r.as_ref(), &full_canary(0)), encode(r.as_ref(), &full_canary(1))),
            other => panic!("no sample configuration for {other}"),
        };
        let (pairs, problems) = check_pairs(r.as_ref(), &full, &other).await;
        eprintln!("{}: {pairs} pairs planned, {} problems", r.type_name(), problems.len());
        report.extend(problems);
    }
    assert!(
        report.is_empty(),
        "{} invalid plans, first ones:\n{}",
        report.len(),
        report.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// What Terraform 1.0 proposes for a removed block is what the old code
/// planned: the oracle rejects it, as Terraform 1.0 did.
#[test]
fn trusting_terraform_1_0s_proposal_breaks_the_plan_rules() {
    let all = crate::resources::all();
    let r = all.iter().find(|r| r.type_name() == "bluegreen_switch").expect("switch");
    let block = &r.schema().block;
    let prior = plancheck::applied_state(&r.schema().implied_type(), &encode(r.as_ref(), &full_switch(0)));
    let mut config = prior.clone();
    *attr_mut(&mut config, "rollout") = Value::Null;
    let old = plancheck::proposed_new(block, &prior, &config, Proposal::KeepsRemovedSingleBlocks);
    assert_eq!(plancheck::assert_plan_valid(block, &prior, &config, &old), [".rollout: planned for existence but config wants absence"]);
    let new = plancheck::proposed_new(block, &prior, &config, Proposal::DropsRemovedSingleBlocks);
    assert!(plancheck::assert_plan_valid(block, &prior, &config, &new).is_empty());
}

/// Defaults are served as optional+computed and applied once, by the adapter; each converts to a value.
#[test]
fn every_default_is_computed_and_has_a_value() {
    fn walk(b: &Block, path: &str, found: &mut Vec<String>) {
        for a in &b.attributes {
            if let Some(d) = &a.default {
                assert!(a.optional && a.computed, "{path}.{}: a default needs optional+computed", a.name);
                let mut probe = Value::object([(a.name.clone(), Value::Null)]);
                let one = Block { attributes: vec![a.clone()], ..Block::default() };
                crate::schema::apply_defaults(&one, &mut probe);
                assert!(!probe.get_attr(&a.name).unwrap().is_null(), "{path}.{}: default {d} has no value", a.name);
                found.push(format!("{path}.{}", a.name));
            }
        }
        for n in &b.blocks {
            walk(&n.block, &format!("{path}.{}", n.name), found);
        }
    }
    let mut found = Vec::new();
    for r in crate::resources::all() {
        walk(&r.schema().block, r.type_name(), &mut found);
    }
    assert!(found.len() >= 10, "{found:?}");
}
