//! `canary_listener` against LocalStack with terraform 1.0.3 (issue 4): create
//! with a test route, traffic shifts with empty re-plans, a rollout with
//! steps, a gate failure, drift, import-verify, the safe finish (destroy
//! refused / promote), a taken priority, a priority change in place, the
//! bad-input matrix (in `bad_input`) and a module composing a
//! `bluegreen_switch` with a `canary_listener`.
//!
//! Every test gets its own legacy stack (ALB, listener, target groups, zone)
//! through a unique suffix, plus a healthy "green" target group made here,
//! so the tests run in parallel and never see each other's rules.
//!
//! `cargo test -p bluegreen-acceptance --test canary -- --test-threads=4`
//! (add `--nocapture` to see plans, diagnostics and timings).
//!
//! The SDK views of listener rules live in this file (see "SDK views"
//! below); the terraform helpers are the library's.

use std::thread;
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext;
use aws_sdk_elasticloadbalancingv2::types as elb;
use bluegreen_acceptance::{aws, block_on, collapse_ws, fixture, unique_suffix, Output, TerraformVersion, Workdir};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// One test's AWS objects: the fixture's legacy stack (its `tg_arn` is blue,
/// with two healthy targets; `empty_tg_arn` has no targets) and a second
/// healthy target group to use as green.
struct Env {
    s: fixture::LegacyStack,
    green_tg: String,
    green_targets: Vec<String>,
    started: Instant,
}

impl Env {
    fn blue(&self) -> &str {
        &self.s.tg_arn
    }
    fn listener(&self) -> &str {
        &self.s.listener_arn
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !thread::panicking() {
            println!("---- {} finished in {:.1?}", self.s.suffix, self.started.elapsed());
        }
    }
}

/// A fresh legacy stack plus a healthy green target group.
fn env(prefix: &str) -> Env {
    let started = Instant::now();
    let s = fixture::legacy_stack(&unique_suffix(prefix));
    let green_targets = vec!["i-0feedfacecafe0001".to_string(), "i-0feedfacecafe0002".to_string()];
    let green_tg = fixture::green_target_group(&s, &green_targets);
    Env { s, green_tg, green_targets, started }
}

// ---------------------------------------------------------------------------
// SDK views of the listener
// ---------------------------------------------------------------------------

/// A rule condition as a test compares it (values from the `*Config` or the
/// legacy `Values` field, whichever moto filled).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cond {
    Host(Vec<String>),
    Path(Vec<String>),
    Header(String, Vec<String>),
    Other(String),
}

/// One listener rule as a test compares it.
#[derive(Debug, Clone)]
struct RuleView {
    arn: String,
    /// As ELBv2 returns it: `"100"`, or `"default"`.
    priority: String,
    conditions: Vec<Cond>,
    /// Every forward action's target groups with their weights; a plain
    /// `TargetGroupArn` action counts as weight 1.
    forward: Vec<(String, i32)>,
    action_types: Vec<String>,
    /// `Some(seconds)` when target-group stickiness is enabled.
    stickiness: Option<i32>,
}

fn cond_view(c: &elb::RuleCondition) -> Cond {
    let or_values = |v: Option<&[String]>| v.filter(|v| !v.is_empty()).map(<[String]>::to_vec).unwrap_or_else(|| c.values().to_vec());
    match c.field().unwrap_or_default() {
        "host-header" => Cond::Host(or_values(c.host_header_config().map(|h| h.values()))),
        "path-pattern" => Cond::Path(or_values(c.path_pattern_config().map(|h| h.values()))),
        "http-header" => {
            let h = c.http_header_config();
            Cond::Header(
                h.and_then(|h| h.http_header_name()).unwrap_or_default().to_string(),
                h.map(|h| h.values().to_vec()).unwrap_or_default(),
            )
        }
        other => Cond::Other(other.to_string()),
    }
}

fn rule_view(r: &elb::Rule) -> RuleView {
    let mut forward = Vec::new();
    let mut stickiness = None;
    for a in r.actions() {
        if a.r#type() != Some(&elb::ActionTypeEnum::Forward) {
            continue;
        }
        let tgs = a.forward_config().map(|f| f.target_groups()).unwrap_or_default();
        if tgs.is_empty() {
            forward.extend(a.target_group_arn().map(|arn| (arn.to_string(), 1)));
        } else {
            forward.extend(tgs.iter().map(|t| (t.target_group_arn().unwrap_or_default().to_string(), t.weight().unwrap_or(1))));
        }
        let st = a.forward_config().and_then(|f| f.target_group_stickiness_config());
        if st.and_then(|s| s.enabled()) == Some(true) {
            stickiness = st.and_then(|s| s.duration_seconds());
        }
    }
    RuleView {
        arn: r.rule_arn().unwrap_or_default().to_string(),
        priority: r.priority().unwrap_or_default().to_string(),
        conditions: r.conditions().iter().map(cond_view).collect(),
        forward,
        action_types: r.actions().iter().map(|a| a.r#type().map(|t| t.as_str().to_string()).unwrap_or_default()).collect(),
        stickiness,
    }
}

/// Every rule of the listener, sorted by priority (`default` last): moto
/// returns them in creation order.
fn rules(listener: &str) -> Vec<RuleView> {
    let out = block_on(aws().elbv2.describe_rules().listener_arn(listener).send())
        .unwrap_or_else(|e| panic!("DescribeRules {listener}: {}", DisplayErrorContext(&e)));
    let mut v: Vec<RuleView> = out.rules().iter().map(rule_view).collect();
    v.sort_by_key(|r| r.priority.parse::<i64>().unwrap_or(i64::MAX));
    v
}

/// The listener's rules other than the default one.
fn non_default_rules(listener: &str) -> Vec<RuleView> {
    rules(listener).into_iter().filter(|r| r.priority != "default").collect()
}

#[track_caller]
fn rule(listener: &str, arn: &str) -> RuleView {
    let all = rules(listener);
    all.iter().find(|r| r.arn == arn).cloned().unwrap_or_else(|| panic!("no rule {arn} on the listener: {all:#?}"))
}

/// `(blue, green)` forward weights of the weighted rule, asserting that it
/// forwards to exactly those two target groups, blue first.
#[track_caller]
fn sdk_weights(e: &Env, green: &str, rule_arn: &str) -> (i32, i32) {
    let r = rule(e.listener(), rule_arn);
    assert_eq!(r.forward.len(), 2, "the weighted rule must forward to two target groups: {r:#?}");
    assert_eq!((r.forward[0].0.as_str(), r.forward[1].0.as_str()), (e.blue(), green), "target groups (blue, green): {r:#?}");
    (r.forward[0].1, r.forward[1].1)
}

/// Out of band: ModifyRule with Actions only (the conditions stay).
fn sdk_set_weights(rule_arn: &str, weights: &[(&str, i32)]) {
    let mut cfg = elb::ForwardActionConfig::builder();
    for (tg, w) in weights {
        cfg = cfg.target_groups(elb::TargetGroupTuple::builder().target_group_arn(*tg).weight(*w).build());
    }
    let action = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).order(1).forward_config(cfg.build()).build();
    block_on(aws().elbv2.modify_rule().rule_arn(rule_arn).actions(action).send())
        .unwrap_or_else(|e| panic!("ModifyRule (actions) {rule_arn}: {}", DisplayErrorContext(&e)));
}

fn host_cond(hosts: &[&str]) -> elb::RuleCondition {
    elb::RuleCondition::builder()
        .field("host-header")
        .host_header_config(
            elb::HostHeaderConditionConfig::builder().set_values(Some(hosts.iter().map(|h| h.to_string()).collect())).build(),
        )
        .build()
}

fn header_cond(name: &str, values: &[&str]) -> elb::RuleCondition {
    elb::RuleCondition::builder()
        .field("http-header")
        .http_header_config(
            elb::HttpHeaderConditionConfig::builder()
                .http_header_name(name)
                .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
                .build(),
        )
        .build()
}

fn path_cond(paths: &[&str]) -> elb::RuleCondition {
    elb::RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(
            elb::PathPatternConditionConfig::builder().set_values(Some(paths.iter().map(|p| p.to_string()).collect())).build(),
        )
        .build()
}

/// Out of band: ModifyRule with Conditions only (the actions stay).
fn sdk_set_conditions(rule_arn: &str, conditions: Vec<elb::RuleCondition>) {
    block_on(aws().elbv2.modify_rule().rule_arn(rule_arn).set_conditions(Some(conditions)).send())
        .unwrap_or_else(|e| panic!("ModifyRule (conditions) {rule_arn}: {}", DisplayErrorContext(&e)));
}

fn sdk_delete_rule(rule_arn: &str) {
    block_on(aws().elbv2.delete_rule().rule_arn(rule_arn).send())
        .unwrap_or_else(|e| panic!("DeleteRule {rule_arn}: {}", DisplayErrorContext(&e)));
}

/// A rule this configuration does not own: `/other/*` → `tg`, at `priority`.
fn sdk_other_rule(listener: &str, priority: i32, tg: &str) -> String {
    let action = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(tg).build();
    let out = block_on(
        aws().elbv2.create_rule().listener_arn(listener).priority(priority).conditions(path_cond(&["/other/*"])).actions(action).send(),
    )
    .unwrap_or_else(|e| panic!("CreateRule {listener} priority {priority}: {}", DisplayErrorContext(&e)));
    out.rules().first().and_then(|r| r.rule_arn()).expect("rule arn").to_string()
}

/// The target groups the listener's default action forwards to.
fn listener_default(listener: &str) -> Vec<(String, i32)> {
    let out = block_on(aws().elbv2.describe_listeners().listener_arns(listener).send())
        .unwrap_or_else(|e| panic!("DescribeListeners {listener}: {}", DisplayErrorContext(&e)));
    let l = out.listeners().first().expect("the listener");
    let mut v = Vec::new();
    for a in l.default_actions() {
        let tgs = a.forward_config().map(|f| f.target_groups()).unwrap_or_default();
        if tgs.is_empty() {
            v.extend(a.target_group_arn().map(|arn| (arn.to_string(), 1)));
        } else {
            v.extend(tgs.iter().map(|t| (t.target_group_arn().unwrap_or_default().to_string(), t.weight().unwrap_or(1))));
        }
    }
    v
}

fn sdk_deregister(tg: &str, ids: &[String]) {
    let targets = ids.iter().map(|id| elb::TargetDescription::builder().id(id).port(8080).build()).collect();
    block_on(aws().elbv2.deregister_targets().target_group_arn(tg).set_targets(Some(targets)).send())
        .unwrap_or_else(|e| panic!("DeregisterTargets {tg}: {}", DisplayErrorContext(&e)));
}

// ---------------------------------------------------------------------------
// Terraform helpers (local, see the module docs)
// ---------------------------------------------------------------------------

const X: &str = "canary_listener.x";

#[track_caller]
fn assert_no_line_containing(out: &Output, text: &str) {
    assert!(!out.stdout.contains(text), "the output mentions {text:?}\n{out}");
}

#[track_caller]
fn state(wd: &Workdir) -> Value {
    wd.state_resource(X).unwrap_or_else(|| panic!("{X} is not in the state: {:#}", wd.show_json()))
}

/// The plan's body from "Terraform will perform" on, for printing.
fn plan_body(out: &Output) -> String {
    out.stdout.lines().skip_while(|l| !l.starts_with("Terraform will perform")).collect::<Vec<_>>().join("\n")
}

/// State and ELBv2 agree on `traffic`: the rule's weights, and the computed attributes.
#[track_caller]
fn assert_state_is_reality(wd: &Workdir, e: &Env, green: &str, traffic: i32) {
    let s = state(wd);
    let arn = s["rule_arn"].as_str().unwrap_or_else(|| panic!("no rule_arn in state: {s:#}")).to_string();
    assert_eq!(sdk_weights(e, green, &arn), (100 - traffic, traffic), "ELBv2 weights (blue, green)");
    assert_eq!(s["traffic"], traffic, "state traffic; state: {s:#}");
    assert_eq!(s["blue_weight"], 100 - traffic, "state blue_weight; state: {s:#}");
    assert_eq!(s["green_weight"], traffic, "state green_weight; state: {s:#}");
    let active = match traffic {
        0 => "blue",
        100 => "green",
        _ => "split",
    };
    assert_eq!(s["active"], active, "state active; state: {s:#}");
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Pieces of a `canary_listener "x"` block.
#[derive(Clone)]
struct Cfg {
    listener: String,
    blue: String,
    green: String,
    priority: i64,
    traffic: i64,
    hosts: Vec<String>,
    /// `Some(values)`: a `test_route` with header `X-Canary`.
    test_values: Option<Vec<String>>,
    /// Inserted verbatim before the closing brace (rollout, health_gate, on_destroy …).
    extra: String,
}

impl Cfg {
    /// Priority 100, `match { host_header = ["api.example.com"] }`, test route `X-Canary: 1`.
    fn new(e: &Env, green: &str, traffic: i64) -> Cfg {
        Cfg {
            listener: e.listener().to_string(),
            blue: e.blue().to_string(),
            green: green.to_string(),
            priority: 100,
            traffic,
            hosts: vec!["api.example.com".into()],
            test_values: Some(vec!["1".into()]),
            extra: String::new(),
        }
    }

    fn traffic(&self, t: i64) -> Cfg {
        Cfg { traffic: t, ..self.clone() }
    }

    fn priority(&self, p: i64) -> Cfg {
        Cfg { priority: p, ..self.clone() }
    }

    fn extra(&self, extra: &str) -> Cfg {
        Cfg { extra: extra.to_string(), ..self.clone() }
    }

    fn tf(&self) -> String {
        let list = |v: &[String]| v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
        let matches =
            if self.hosts.is_empty() { String::new() } else { format!("\n  match {{\n    host_header = [{}]\n  }}\n", list(&self.hosts)) };
        let test = match &self.test_values {
            Some(v) => format!("\n  test_route {{\n    header_name   = \"X-Canary\"\n    header_values = [{}]\n  }}\n", list(v)),
            None => String::new(),
        };
        format!(
            "resource \"canary_listener\" \"x\" {{\n  provider     = bluegreen\n  listener_arn = \"{}\"\n  priority     = {}\n{matches}\n  blue_target_group_arn  = \"{}\"\n  green_target_group_arn = \"{}\"\n  traffic                = {}\n{test}{}}}\n",
            self.listener, self.priority, self.blue, self.green, self.traffic, self.extra
        )
    }
}

fn rollout_tf(steps: &[i64], bake: &str) -> String {
    let steps = steps.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    format!("\n  rollout {{\n    steps     = [{steps}]\n    bake_time = \"{bake}\"\n  }}\n")
}

const GATE_TF: &str = "\n  health_gate {\n    min_healthy_targets = 1\n  }\n";

// ---------------------------------------------------------------------------
// 1. Create at 0 % with a test route
// ---------------------------------------------------------------------------

#[test]
fn create_at_zero_adds_the_weighted_rule_and_the_header_route() {
    let e = env("cc");
    let wd = Workdir::new("canary-create");
    wd.config(&Cfg::new(&e, &e.green_tg, 0).tf());
    let plan = wd.plan(&[]);
    plan.assert_line("# canary_listener.x will be created");
    plan.assert_line("Plan: 1 to add, 0 to change, 0 to destroy.");
    wd.apply(&[]);

    let s = state(&wd);
    let rule_arn = s["rule_arn"].as_str().expect("rule_arn").to_string();
    let test_arn = s["test_rule_arn"].as_str().expect("test_rule_arn").to_string();
    assert_eq!(s["id"], rule_arn);
    assert!(rule_arn.contains(":listener-rule/app/"), "{rule_arn}");
    assert_ne!(rule_arn, test_arn);

    let all = non_default_rules(e.listener());
    assert_eq!(all.len(), 2, "exactly the two canary rules: {all:#?}");
    let (test, main) = (&all[0], &all[1]);

    // The weighted rule: priority 100, the match condition only, blue 100 / green 0.
    assert_eq!(main.arn, rule_arn);
    assert_eq!(main.priority, "100");
    assert_eq!(main.conditions, [Cond::Host(vec!["api.example.com".into()])]);
    assert_eq!(main.action_types, ["forward"]);
    assert_eq!(main.forward, [(e.blue().to_string(), 100), (e.green_tg.clone(), 0)]);
    assert_eq!(main.stickiness, None);

    // The test rule: priority 99 (= priority − 1), host + X-Canary: 1, green only.
    assert_eq!(test.arn, test_arn);
    assert_eq!(test.priority, "99");
    assert_eq!(test.conditions, [Cond::Host(vec!["api.example.com".into()]), Cond::Header("X-Canary".into(), vec!["1".into()])]);
    assert_eq!(test.action_types, ["forward"]);
    assert_eq!(test.forward.len(), 1, "{test:#?}");
    assert_eq!(test.forward[0].0, e.green_tg);

    // The listener's default action is untouched.
    assert_eq!(listener_default(e.listener()), [(e.blue().to_string(), 1)]);
    assert_state_is_reality(&wd, &e, &e.green_tg, 0);
    assert_eq!(s["priority"], 100);
    assert!(s["test_route"][0]["priority"].is_null(), "the default test priority stays unset: {s:#}");
    wd.assert_no_changes();
}

/// The rule's tags, read with the SDK.
fn rule_tags(arn: &str) -> Vec<(String, String)> {
    let out = block_on(aws().elbv2.describe_tags().resource_arns(arn).send())
        .unwrap_or_else(|e| panic!("DescribeTags {arn}: {}", DisplayErrorContext(&e)));
    let mut tags: Vec<(String, String)> = out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())))
        .collect();
    tags.sort();
    tags
}

/// The rules the canary creates carry `bluegreen:managed-by = terraform-provider-bluegreen` (an IAM policy can limit
/// ModifyRule, DeleteRule and SetRulePriorities to them); rules an earlier version made without it get it on the
/// next apply.
#[test]
fn the_canary_s_rules_are_tagged_and_untagged_ones_get_the_tag_on_the_next_apply() {
    let e = env("tag");
    let wd = Workdir::new("canary-tags");
    wd.config(&Cfg::new(&e, &e.green_tg, 0).tf());
    wd.apply(&[]);
    let s = state(&wd);
    let arns: Vec<String> = ["rule_arn", "test_rule_arn"].iter().map(|k| s[*k].as_str().expect("rule ARN").to_string()).collect();
    let managed = vec![("bluegreen:managed-by".to_string(), "terraform-provider-bluegreen".to_string())];
    for arn in &arns {
        assert_eq!(rule_tags(arn), managed, "{arn}");
    }
    // As an earlier version left them: no tags. The next apply tags them again.
    block_on(aws().elbv2.remove_tags().set_resource_arns(Some(arns.clone())).tag_keys("bluegreen:managed-by").send())
        .unwrap_or_else(|err| panic!("RemoveTags: {}", DisplayErrorContext(&err)));
    for arn in &arns {
        assert_eq!(rule_tags(arn), [], "{arn}");
    }
    wd.config(&Cfg::new(&e, &e.green_tg, 10).tf());
    wd.apply(&[]);
    for arn in &arns {
        assert_eq!(rule_tags(arn), managed, "{arn}");
    }
    assert_state_is_reality(&wd, &e, &e.green_tg, 10);
}

// ---------------------------------------------------------------------------
// 2. Shift 10 → 50 → 100
// ---------------------------------------------------------------------------

#[test]
fn shift_10_50_100_shows_the_change_and_replans_empty() {
    let e = env("cs");
    let wd = Workdir::new("canary-shift");
    let cfg = Cfg::new(&e, &e.green_tg, 0);
    wd.config(&cfg.tf());
    wd.apply(&[]);
    let rule_arn = state(&wd)["rule_arn"].as_str().expect("rule_arn").to_string();

    for (from, to) in [(0, 10), (10, 50), (50, 100)] {
        wd.config(&cfg.traffic(to).tf());
        let plan = wd.plan(&["-detailed-exitcode"]);
        assert_eq!(plan.code(), Some(2), "changes expected\n{plan}");
        if to == 10 {
            println!("---- plan of a weight change (0 -> 10):\n{}\n", plan_body(&plan));
        }
        plan.assert_line("# canary_listener.x will be updated in-place");
        plan.assert_line(&format!("~ traffic = {from} -> {to}"));
        plan.assert_line(&format!("~ green_weight = {from} -> {to}"));
        plan.assert_line(&format!("~ blue_weight = {} -> {}", 100 - from, 100 - to));
        plan.assert_line("Plan: 0 to add, 1 to change, 0 to destroy.");
        let t = Instant::now();
        wd.apply(&[]);
        println!("shift {from} -> {to}: apply took {:.1?}", t.elapsed());
        assert_state_is_reality(&wd, &e, &e.green_tg, to as i32);
        assert_eq!(state(&wd)["rule_arn"], rule_arn.as_str(), "same rule");
        wd.assert_no_changes();
    }
    // The test rule still sends X-Canary to green only.
    let test = non_default_rules(e.listener()).into_iter().find(|r| r.priority == "99").expect("test rule");
    assert_eq!(test.forward.len(), 1);
    assert_eq!(test.forward[0].0, e.green_tg);
}

// ---------------------------------------------------------------------------
// 3. Rollout with steps
// ---------------------------------------------------------------------------

#[test]
fn rollout_walks_each_step_and_logs_it() {
    let e = env("cr");
    let wd = Workdir::new("canary-rollout");
    let cfg = Cfg::new(&e, &e.green_tg, 0).extra(&format!("{}{GATE_TF}", rollout_tf(&[5, 25, 50], "1s")));
    wd.config(&cfg.tf());
    wd.apply(&[]);
    assert_state_is_reality(&wd, &e, &e.green_tg, 0);

    wd.config(&cfg.traffic(100).tf());
    wd.plan(&[]).assert_line("~ traffic = 0 -> 100");
    let out = wd.run_with_env(&["apply", "-no-color", "-input=false", "-auto-approve"], &[("TF_LOG", "INFO")]);
    out.assert_success();
    let lines = out.provider_info_lines();
    let find = |needle: &str| {
        *lines.iter().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no provider INFO line {needle:?}:\n{}", lines.join("\n")))
    };
    find("starting traffic shift: 0% green -> 100% green");
    let gate = find("health gate passed before the first increase");
    assert!(gate.contains("2 of 2 targets healthy"), "{gate}");
    let steps = [
        find("step 1/4: 5% green in effect, baking 1s"),
        find("step 2/4: 25% green in effect, baking 1s"),
        find("step 3/4: 50% green in effect, baking 1s"),
        find("step 4/4: 100% green in effect"),
    ];
    println!("---- rollout 0 -> 100 (steps [5, 25, 50], bake 1s): apply took {:.1?}", out.elapsed);
    for l in steps {
        println!("{}", l.split("provider.terraform-provider-bluegreen: ").nth(1).unwrap_or(l));
    }
    assert!(out.elapsed >= Duration::from_secs(3), "three bakes of 1s: {:.1?}", out.elapsed);
    assert_state_is_reality(&wd, &e, &e.green_tg, 100);
    wd.assert_no_changes();
}

// ---------------------------------------------------------------------------
// 4. Gate failures
// ---------------------------------------------------------------------------

#[test]
fn empty_green_target_group_fails_the_gate_and_state_stays_reality() {
    let e = env("cg");
    let green = e.s.empty_tg_arn.clone();
    let wd = Workdir::new("canary-gate");
    let cfg = Cfg::new(&e, &green, 0).extra(GATE_TF);
    wd.config(&cfg.tf());
    // At 0 % nothing is gated: create succeeds with an empty green.
    wd.apply(&[]);
    assert_state_is_reality(&wd, &e, &green, 0);

    wd.config(&cfg.traffic(50).tf());
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- gate failure (empty green target group), as terraform prints it:\n{}\n", out.stderr.trim());
    assert!(d.summary.starts_with("Health gate failed"), "{d}");
    assert_eq!(d.summary, "Health gate failed: traffic not increased");
    let detail = d.detail();
    assert!(detail.contains(&e.s.empty_tg_name) || detail.contains(&green), "the detail names the target group: {detail}");
    assert!(detail.contains("0% green, 100% blue"), "{detail}");
    assert!(detail.contains("50%"), "{detail}");

    // State = reality: refresh-only sees nothing, ELBv2 and state both say 0.
    let refresh = wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
    assert_eq!(refresh.code(), Some(0), "refresh-only found differences\n{refresh}");
    assert_no_line_containing(&refresh, "traffic");
    assert_state_is_reality(&wd, &e, &green, 0);
    // The configuration still asks for 50.
    wd.plan(&[]).assert_line("~ traffic = 0 -> 50");
}

/// Green empties during the first bake: the engine rolls the rule back to
/// where the apply started.
#[test]
fn green_emptied_during_the_bake_rolls_back() {
    let e = env("cb");
    let wd = Workdir::new("canary-rollback");
    let cfg = Cfg::new(&e, &e.green_tg, 0).extra(&format!("{}{GATE_TF}", rollout_tf(&[10], "2s")));
    wd.config(&cfg.traffic(0).tf());
    wd.apply(&[]);
    let rule_arn = state(&wd)["rule_arn"].as_str().expect("rule_arn").to_string();
    wd.config(&cfg.traffic(50).tf());

    let out = thread::scope(|sc| {
        let apply = sc.spawn(|| wd.apply_output(&[]));
        // Wait until the first step (10 %) is in effect, then empty green.
        let t = Instant::now();
        loop {
            if sdk_weights(&e, &e.green_tg, &rule_arn) == (90, 10) {
                sdk_deregister(&e.green_tg, &e.green_targets);
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(60) && !apply.is_finished(), "never saw the 10% step");
            thread::sleep(Duration::from_millis(50));
        }
        apply.join().expect("apply thread")
    });
    out.assert_failure();
    let d = out.only_error();
    println!("---- gate failure during the bake (rolled back), as terraform prints it:\n{}\n", out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%", "{out}");
    assert!(d.detail().contains("on_gate_failure = \"rollback\""), "{d}");
    assert_state_is_reality(&wd, &e, &e.green_tg, 0);
    let refresh = wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
    assert_eq!(refresh.code(), Some(0), "{refresh}");
}

// ---------------------------------------------------------------------------
// 5. Drift
// ---------------------------------------------------------------------------

#[test]
fn weights_changed_out_of_band_show_as_a_traffic_change() {
    let e = env("dw");
    let wd = Workdir::new("canary-drift-weights");
    wd.config(&Cfg::new(&e, &e.green_tg, 10).tf());
    wd.apply(&[]);
    let rule_arn = state(&wd)["rule_arn"].as_str().expect("rule_arn").to_string();

    sdk_set_weights(&rule_arn, &[(e.blue(), 70), (&e.green_tg, 30)]);
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "{plan}");
    plan.assert_line("~ traffic = 30 -> 10");
    plan.assert_line("~ green_weight = 30 -> 10");
    plan.assert_line("# canary_listener.x will be updated in-place");
    let refresh = wd.plan_output(&["-refresh-only"]);
    refresh.assert_line("~ traffic = 10 -> 30");

    // Weights that do not sum to 100 are read as round(100 · green / total).
    sdk_set_weights(&rule_arn, &[(e.blue(), 2), (&e.green_tg, 1)]);
    wd.plan(&[]).assert_line("~ traffic = 33 -> 10");

    wd.apply(&[]);
    assert_state_is_reality(&wd, &e, &e.green_tg, 10);
    wd.assert_no_changes();
}

#[test]
fn header_rule_changed_out_of_band_shows_and_apply_restores_it() {
    let e = env("dh");
    let wd = Workdir::new("canary-drift-header");
    wd.config(&Cfg::new(&e, &e.green_tg, 10).tf());
    wd.apply(&[]);
    let test_arn = state(&wd)["test_rule_arn"].as_str().expect("test_rule_arn").to_string();

    sdk_set_conditions(&test_arn, vec![host_cond(&["api.example.com"]), header_cond("X-Canary", &["2", "3"])]);
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "{plan}");
    println!("---- plan after the header rule drifted:\n{}\n", plan_body(&plan));
    plan.assert_line("# canary_listener.x will be updated in-place");
    plan.assert_line("~ test_route {");
    // header_values is sensitive (a header that opens green is often a shared secret): the drift shows, the values do not.
    assert!(
        plan.stdout.lines().any(|l| collapse_ws(l).starts_with("~ header_values = (sensitive")),
        "the drift of header_values does not show:\n{plan}"
    );
    for value in ["\"2\"", "\"3\""] {
        assert_no_line_containing(&plan, value);
    }
    assert_no_line_containing(&plan, "traffic");

    wd.apply(&[]);
    let test = rule(e.listener(), &test_arn);
    assert_eq!(test.conditions, [Cond::Host(vec!["api.example.com".into()]), Cond::Header("X-Canary".into(), vec!["1".into()])]);
    assert_eq!(test.forward.len(), 1);
    assert_eq!(test.forward[0].0, e.green_tg);
    assert_eq!(state(&wd)["test_rule_arn"], test_arn.as_str(), "the same test rule, modified in place");
    wd.assert_no_changes();
}

#[test]
fn deleted_weighted_rule_makes_the_plan_recreate_it() {
    let e = env("dd");
    let wd = Workdir::new("canary-drift-deleted");
    let cfg = Cfg::new(&e, &e.green_tg, 0);
    wd.config(&cfg.tf());
    wd.apply(&[]);
    let s = state(&wd);
    let (rule_arn, test_arn) = (s["rule_arn"].as_str().expect("rule").to_string(), s["test_rule_arn"].as_str().expect("test").to_string());

    // Out of band: both rules removed (see the ignored test below for the weighted rule alone).
    sdk_delete_rule(&rule_arn);
    sdk_delete_rule(&test_arn);
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "{plan}");
    plan.assert_line("# canary_listener.x will be created");
    plan.assert_line("Plan: 1 to add, 0 to change, 0 to destroy.");

    wd.apply(&[]);
    let new_arn = state(&wd)["rule_arn"].as_str().expect("rule_arn").to_string();
    assert_ne!(new_arn, rule_arn, "a new rule");
    assert_eq!(non_default_rules(e.listener()).len(), 2);
    assert_state_is_reality(&wd, &e, &e.green_tg, 0);
    wd.assert_no_changes();
}

/// Only the weighted rule is deleted out of band; the test rule (still at
/// priority 99) is left behind.
#[test]
fn deleted_weighted_rule_alone_is_recreated() {
    let e = env("da");
    let wd = Workdir::new("canary-drift-deleted-alone");
    wd.config(&Cfg::new(&e, &e.green_tg, 0).tf());
    wd.apply(&[]);
    let rule_arn = state(&wd)["rule_arn"].as_str().expect("rule").to_string();
    let test_rule_arn = state(&wd)["test_rule_arn"].as_str().expect("test rule").to_string();
    sdk_delete_rule(&rule_arn);
    // Refreshed, the state says what AWS holds: no weighted rule (no priority, all traffic to blue). That the rule must
    // be made anew is the canary's private state, not a value in the state.
    wd.apply(&["-refresh-only"]);
    let s = state(&wd);
    assert!(s["priority"].is_null(), "the deleted rule has no priority; state: {s:#}");
    assert_eq!((&s["traffic"], &s["blue_weight"], &s["green_weight"]), (&0.into(), &100.into(), &0.into()), "state: {s:#}");
    assert_eq!(s["test_rule_arn"].as_str(), Some(test_rule_arn.as_str()));
    // The surviving test rule keeps the resource; the weighted rule shows as missing (no priority).
    let plan = wd.plan(&[]);
    plan.assert_line("# canary_listener.x will be updated in-place");
    let out = wd.apply_output(&[]);
    println!("---- recreate after only the weighted rule was deleted:\n{out}\n");
    out.assert_success();
    assert_eq!(non_default_rules(e.listener()).len(), 2, "{:#?}", non_default_rules(e.listener()));
    assert_eq!(state(&wd)["test_rule_arn"].as_str(), Some(test_rule_arn.as_str()), "the test rule is kept");
    assert_ne!(state(&wd)["rule_arn"].as_str(), Some(rule_arn.as_str()), "a new weighted rule");
    assert_state_is_reality(&wd, &e, &e.green_tg, 0);
    wd.assert_no_changes();
}

// ---------------------------------------------------------------------------
// 6. Import-verify
// ---------------------------------------------------------------------------

/// Attributes that live only in the configuration (not on the rules), so an
/// import cannot know them.
/// Configuration-only settings, and `shifted_at`: an import knows when it saw the split, not when it was reached.
const IMPORT_IGNORED: &[&str] = &["rollout", "health_gate", "on_destroy", "on_gate_failure", "stickiness", "shifted_at"];

#[test]
fn import_verify_matches_the_created_resource() {
    let e = env("ci");
    let cfg = Cfg::new(&e, &e.green_tg, 30).extra("\n  on_destroy = \"promote\"\n");
    let created = Workdir::new("canary-import-src");
    created.config(&cfg.tf());
    created.apply(&[]);
    let want = state(&created);
    let id = format!("{},{}", want["rule_arn"].as_str().expect("rule_arn"), want["test_rule_arn"].as_str().expect("test_rule_arn"));

    let imported = Workdir::new("canary-import-dst");
    imported.config(&cfg.tf());
    let out = imported.run(&["import", "-no-color", "-input=false", X, &id]);
    out.assert_success();
    assert!(out.stdout.contains("Import successful!"), "{out}");
    let got = state(&imported);

    let strip = |v: &Value| {
        let mut m = v.as_object().expect("values object").clone();
        for k in IMPORT_IGNORED {
            m.remove(*k);
        }
        Value::Object(m)
    };
    let (w, g) = (strip(&want), strip(&got));
    if w != g {
        let keys: Vec<&String> =
            w.as_object().unwrap().keys().chain(g.as_object().unwrap().keys()).filter(|k| w.get(*k) != g.get(*k)).collect();
        panic!("imported state differs in {keys:?}\ncreated: {w:#}\nimported: {g:#}");
    }

    // After the import the plan changes at most ignored attributes.
    let plan = imported.plan_output(&["-detailed-exitcode"]);
    println!("---- plan after import:\n{}\n", plan_body(&plan));
    match plan.code() {
        Some(0) => assert!(plan.stdout.contains("No changes."), "{plan}"),
        Some(2) => {
            let body = plan_body(&plan);
            for l in body.lines().map(str::trim).filter(|l| l.starts_with("~ ") || l.starts_with("+ ") || l.starts_with("- ")) {
                let attr = l[2..].split_whitespace().next().unwrap_or_default();
                assert!(
                    IMPORT_IGNORED.contains(&attr) || attr == "resource",
                    "the plan after import changes {attr:?}, which import should have read:\n{plan}"
                );
            }
            plan.assert_line("Plan: 0 to add, 1 to change, 0 to destroy.");
        }
        _ => panic!("plan failed\n{plan}"),
    }
}

/// Import by the weighted rule alone, for a canary without a test route.
#[test]
fn import_by_rule_arn_alone() {
    let e = env("cj");
    let mut cfg = Cfg::new(&e, &e.green_tg, 0);
    cfg.test_values = None;
    cfg.hosts = vec![];
    let created = Workdir::new("canary-import1-src");
    created.config(&cfg.tf());
    created.apply(&[]);
    let want = state(&created);
    let rule_arn = want["rule_arn"].as_str().expect("rule_arn").to_string();
    // No match block: the rule covers all requests (path pattern /*).
    assert_eq!(rule(e.listener(), &rule_arn).conditions, [Cond::Path(vec!["/*".into()])]);

    let imported = Workdir::new("canary-import1-dst");
    imported.config(&cfg.tf());
    imported.run(&["import", "-no-color", "-input=false", X, &rule_arn]).assert_success();
    let without_clock = |v: Value| {
        let mut m = v.as_object().expect("values object").clone();
        m.remove("shifted_at");
        m
    };
    assert_eq!(without_clock(state(&imported)), without_clock(want));
    imported.assert_no_changes();
}

// ---------------------------------------------------------------------------
// 7. Safe finish
// ---------------------------------------------------------------------------

#[test]
fn destroy_is_refused_while_green_has_traffic_and_promote_while_split() {
    let e = env("cd");
    let wd = Workdir::new("canary-destroy-refused");
    let cfg = Cfg::new(&e, &e.green_tg, 50);
    wd.config(&cfg.tf());
    wd.apply(&[]);
    let before = non_default_rules(e.listener());
    assert_eq!(before.len(), 2);

    // on_destroy = "delete" (the default) at 50 %.
    let out = wd.destroy_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- destroy refused:\n{d}\n");
    assert_eq!(d.summary, "Destroy refused while green has traffic");
    let detail = d.detail();
    for want in ["50% of requests to green", "traffic = 0", "traffic = 100", "on_destroy = \"promote\""] {
        assert!(detail.contains(want), "detail lacks {want:?}: {detail}");
    }
    assert_eq!(non_default_rules(e.listener()).len(), 2, "the rules are still there");
    assert!(wd.state_resource(X).is_some(), "still in the state");

    // on_destroy = "promote" while split.
    wd.config(&cfg.extra("\n  on_destroy = \"promote\"\n").tf());
    wd.apply(&[]);
    let out = wd.destroy_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- promote refused:\n{d}\n");
    assert_eq!(d.summary, "Promote refused while traffic is split");
    assert!(d.detail().contains("50% green, 50% blue"), "{d}");
    assert_eq!(non_default_rules(e.listener()).len(), 2, "the rules are still there");
    assert_eq!(listener_default(e.listener()), [(e.blue().to_string(), 1)], "default action untouched");
    assert_state_is_reality(&wd, &e, &e.green_tg, 50);

    // Back to 0 %: delete is allowed and the default action stays blue.
    wd.config(&cfg.traffic(0).tf());
    wd.apply(&[]);
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 1 destroyed.");
    assert!(non_default_rules(e.listener()).is_empty(), "{:#?}", non_default_rules(e.listener()));
    assert_eq!(listener_default(e.listener()), [(e.blue().to_string(), 1)]);
}

#[test]
fn promote_at_100_points_the_default_action_at_green_then_removes_the_rules() {
    // Without `match` the weighted rule routes every request (`/*`): the default action is what promote changes.
    let e = env("cp");
    let wd = Workdir::new("canary-promote");
    let cfg = Cfg { hosts: vec![], ..Cfg::new(&e, &e.green_tg, 100) }.extra("\n  on_destroy = \"promote\"\n");
    wd.config(&cfg.tf());
    wd.apply(&[]);
    assert_state_is_reality(&wd, &e, &e.green_tg, 100);
    assert_eq!(listener_default(e.listener()), [(e.blue().to_string(), 1)]);

    assert_promotion_told(&wd, "the listener's default action");
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 1 destroyed.");
    assert!(out.to_string().contains("the listener's default action"), "the destroy says where requests went: {out}");
    let default = listener_default(e.listener());
    assert_eq!(default.len(), 1, "{default:?}");
    assert_eq!(default[0].0, e.green_tg, "the default action forwards to green");
    assert!(non_default_rules(e.listener()).is_empty(), "{:#?}", non_default_rules(e.listener()));
}

/// A canary for one host: promoting it must not send every other host to green. The weighted rule stays as a plain
/// forward for that host (the ALB counterpart of the switch's collapse); the default action is untouched.
#[test]
fn promote_with_a_match_leaves_a_plain_rule_for_its_hosts_and_the_default_action_alone() {
    let e = env("cq");
    let wd = Workdir::new("canary-promote-match");
    wd.config(&Cfg::new(&e, &e.green_tg, 100).extra("\n  on_destroy = \"promote\"\n").tf());
    wd.apply(&[]);
    let rule_arn = state(&wd)["rule_arn"].as_str().unwrap().to_string();
    let default_before = listener_default(e.listener());

    assert_promotion_told(&wd, "plain forward");
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 1 destroyed.");
    assert!(out.to_string().contains("plain forward"), "the destroy says where requests went: {out}");
    assert_eq!(listener_default(e.listener()), default_before, "the default action is untouched");
    let left = non_default_rules(e.listener());
    assert_eq!(left.len(), 1, "the test rule is gone, the weighted rule stays: {left:#?}");
    let kept = rule(e.listener(), &rule_arn);
    assert_eq!(kept.priority, "100");
    assert_eq!(kept.conditions, vec![cond_view(&host_cond(&["api.example.com"]))]);
    assert_eq!(kept.forward, vec![(e.green_tg.clone(), 1)], "all to green");
    sdk_delete_rule(&rule_arn);
}

/// The destroy plan says where promote leaves the requests (Terraform ≥ 1.3 plans destroys through the provider; 1.0
/// does not ask, and the destroy itself says it).
fn assert_promotion_told(wd: &Workdir, what: &str) {
    let plan = wd.run(&["plan", "-destroy", "-no-color", "-input=false"]);
    plan.assert_success();
    if plan.terraform_version >= TerraformVersion::new(1, 3, 0) {
        assert!(plan.to_string().contains(what), "the destroy plan says where requests go ({what}): {plan}");
    }
}

// ---------------------------------------------------------------------------
// 8. Taken priority
// ---------------------------------------------------------------------------

#[test]
fn a_taken_priority_names_the_holder_and_creates_nothing() {
    let e = env("ct");
    let wd = Workdir::new("canary-priority-taken");
    wd.config(&Cfg::new(&e, &e.green_tg, 0).tf());

    // The test route's priority (99) taken; the weighted rule's (100) is free.
    for p in [99, 100] {
        let other = sdk_other_rule(e.listener(), p, e.blue());
        let out = wd.apply_output(&[]);
        out.assert_failure();
        let d = out.only_error();
        println!("---- priority {p} taken:\n{d}\n");
        let (summary, which) = if p == 99 {
            ("Test route priority in use", format!("The test route's priority {p}"))
        } else {
            ("Listener rule priority in use", format!("Priority {p}"))
        };
        assert_eq!(d.summary, summary);
        let detail = d.detail();
        assert!(detail.contains(&which), "{detail}");
        assert!(detail.contains(&other), "the detail names the rule holding it: {detail}");
        assert!(detail.contains("import"), "{detail}");
        let left = non_default_rules(e.listener());
        assert_eq!(left.len(), 1, "nothing created: {left:#?}");
        assert_eq!(left[0].arn, other);
        assert!(wd.state_resource(X).is_none(), "nothing in the state");
        sdk_delete_rule(&other);
    }
}

/// A green target group that serves another load balancer: ELBv2 refuses the rule only at apply (LocalStack not at
/// all), and every gate would then measure requests that never reach this listener. The plan says so, on the attribute.
#[test]
fn a_target_group_behind_another_load_balancer_fails_the_plan() {
    let e = env("cl");
    let other = fixture::legacy_stack(&unique_suffix("cl2"));
    let wd = Workdir::new("canary-foreign-tg");
    let cfg = Cfg::new(&e, &other.tg_arn, 0);
    wd.config(&cfg.tf());
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- target group behind another load balancer:\n{d}\n");
    assert_eq!(d.summary, "Target group behind another load balancer");
    let detail = d.detail();
    assert!(detail.contains(&other.tg_arn) && detail.contains(&other.lb_arn) && detail.contains(&e.s.lb_arn), "{detail}");
    assert!(d.snippet.as_ref().is_some_and(|s| s.code.contains("green_target_group_arn")), "{d:?}");
    assert!(non_default_rules(e.listener()).is_empty(), "nothing created");
}

/// The test route's priority, `priority − 1` when not set, taken by a rule the configuration does not own: the plan
/// says so on `priority` (the test priority is not in the configuration), and says the 99 is `priority − 1`.
#[test]
fn a_taken_implicit_test_priority_fails_the_plan_and_says_it_is_priority_minus_one() {
    let e = env("ci");
    let wd = Workdir::new("canary-implicit-priority");
    let holder = sdk_other_rule(e.listener(), 99, e.blue());
    wd.config(&Cfg::new(&e, &e.green_tg, 0).tf());
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- implicit test priority taken:\n{d}\n");
    assert_eq!(d.summary, "Test route priority in use");
    let detail = d.detail();
    assert!(detail.contains(&holder) && detail.contains("priority − 1"), "{detail}");
    assert!(d.snippet.as_ref().is_some_and(|s| s.code.contains("priority")), "points at priority: {d:?}");
    sdk_delete_rule(&holder);
}

/// Two canaries of one configuration on one listener priority: refused at plan.
#[test]
fn two_canaries_on_one_priority_are_refused_at_plan() {
    let e = env("c2");
    let wd = Workdir::new("canary-two-on-one-priority");
    let a = Cfg::new(&e, &e.green_tg, 0).tf();
    let b = Cfg { hosts: vec!["www.example.com".into()], test_values: None, ..Cfg::new(&e, &e.green_tg, 0) }.tf().replace("\"x\"", "\"y\"");
    wd.config(&format!("{a}\n{b}"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- two canaries on one priority:\n{d}\n");
    assert_eq!(d.summary, "Two canaries on one listener priority");
    assert!(d.detail().contains("Priority 100"), "{}", d.detail());
    assert!(non_default_rules(e.listener()).is_empty(), "nothing created");
}

// ---------------------------------------------------------------------------
// 9. Priority change in place
// ---------------------------------------------------------------------------

#[test]
fn a_priority_change_is_applied_in_place() {
    let e = env("cm");
    let wd = Workdir::new("canary-priority-change");
    let cfg = Cfg::new(&e, &e.green_tg, 10);
    wd.config(&cfg.tf());
    wd.apply(&[]);
    let s = state(&wd);
    let (rule_arn, test_arn) = (s["rule_arn"].as_str().expect("rule").to_string(), s["test_rule_arn"].as_str().expect("test").to_string());

    wd.config(&cfg.priority(200).tf());
    let plan = wd.plan(&[]);
    println!("---- plan of a priority change:\n{}\n", plan_body(&plan));
    plan.assert_line("# canary_listener.x will be updated in-place");
    plan.assert_line("~ priority = 100 -> 200");
    plan.assert_line("Plan: 0 to add, 1 to change, 0 to destroy.");
    assert_no_line_containing(&plan, "forces replacement");
    wd.apply(&[]);

    let s = state(&wd);
    assert_eq!(s["rule_arn"], rule_arn.as_str(), "same weighted rule");
    assert_eq!(s["test_rule_arn"], test_arn.as_str(), "same test rule");
    assert_eq!(s["priority"], 200);
    assert_eq!(rule(e.listener(), &rule_arn).priority, "200");
    assert_eq!(rule(e.listener(), &test_arn).priority, "199", "the default test priority follows");
    assert_eq!(non_default_rules(e.listener()).len(), 2);
    assert_state_is_reality(&wd, &e, &e.green_tg, 10);
    wd.assert_no_changes();
}

// ---------------------------------------------------------------------------
// Stickiness (schema extra): written to the weighted rule, warned about at plan
// ---------------------------------------------------------------------------

#[test]
fn stickiness_is_written_to_the_weighted_rule_and_warned_about() {
    let e = env("ck");
    let wd = Workdir::new("canary-stickiness");
    let cfg = Cfg::new(&e, &e.green_tg, 10).extra(&format!("{}\n  stickiness {{\n    duration = \"30s\"\n  }}\n", rollout_tf(&[50], "1s")));
    wd.config(&cfg.tf());
    let plan = wd.plan(&[]);
    let warning = plan
        .diagnostics()
        .into_iter()
        .find(|d| d.summary == "Stickiness outlasts the bake time")
        .unwrap_or_else(|| panic!("no stickiness warning\n{plan}"));
    println!("---- stickiness warning:\n{warning}\n");
    assert!(warning.detail().contains("for 30s, longer than the rollout's bake time (1s)"), "{warning}");
    // Once per command (issue 19: three times per apply, each walk's validation repeating it).
    let once = |out: &Output, what: &str| {
        let text = format!("{}{}", out.stdout, out.stderr);
        let n = text.matches("Stickiness outlasts the bake time").count();
        assert!(n == 1 && !text.contains("more similar warning"), "{what}: the warning {n} times\n{out}");
    };
    once(&plan, "plan");
    let applied = wd.apply(&[]);
    once(&applied, "apply");
    let s = state(&wd);
    let r = rule(e.listener(), s["rule_arn"].as_str().expect("rule_arn"));
    assert_eq!(r.stickiness, Some(30), "{r:#?}");
    assert_state_is_reality(&wd, &e, &e.green_tg, 10);
    wd.assert_no_changes();
}

// ---------------------------------------------------------------------------
// 11. A module composing bluegreen_switch and canary_listener
// ---------------------------------------------------------------------------

const CUTOVER_MODULE: &str = r#"terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

variable "zone_id" {
  type = string
}

variable "name" {
  type = string
}

variable "legacy_dns_name" {
  type = string
}

variable "legacy_zone_id" {
  type = string
}

variable "listener_arn" {
  type = string
}

variable "blue_tg" {
  type = string
}

variable "green_tg" {
  type = string
}

variable "dns_traffic" {
  type = number
}

variable "alb_traffic" {
  type = number
}

resource "bluegreen_switch" "dns" {
  zone_id = var.zone_id
  name    = var.name

  blue {
    set_identifier = "blue-${var.name}"
    alias {
      name    = var.legacy_dns_name
      zone_id = var.legacy_zone_id
    }
  }

  green {
    set_identifier = "green-${var.name}"
    alias {
      name    = "green-ecs-1.us-east-1.elb.amazonaws.com"
      zone_id = "Z2P70J7EXAMPLE"
    }
  }

  traffic    = var.dns_traffic
  on_destroy = "collapse"
}

resource "canary_listener" "alb" {
  provider     = bluegreen
  listener_arn = var.listener_arn
  priority     = 100

  match {
    host_header = ["api.example.com"]
  }

  blue_target_group_arn  = var.blue_tg
  green_target_group_arn = var.green_tg
  traffic                = var.alb_traffic

  test_route {
    header_name   = "X-Canary"
    header_values = ["1"]
  }
}

output "switch_id" {
  value = bluegreen_switch.dns.id
}

output "rule_arn" {
  value = canary_listener.alb.rule_arn
}
"#;

#[test]
fn a_module_composes_a_switch_and_a_canary() {
    let e = env("cx");
    let name = format!("www.{}", e.s.zone_name);
    let wd = Workdir::new("canary-module");
    wd.write("modules/cutover/main.tf", CUTOVER_MODULE);
    let config = |alb: i64| {
        format!(
            "module \"cutover\" {{\n  source    = \"./modules/cutover\"\n  providers = {{\n    bluegreen = bluegreen\n  }}\n\n  zone_id         = \"{}\"\n  name            = \"{name}\"\n  legacy_dns_name = \"{}\"\n  legacy_zone_id  = \"{}\"\n  listener_arn    = \"{}\"\n  blue_tg         = \"{}\"\n  green_tg        = \"{}\"\n  dns_traffic     = 0\n  alb_traffic     = {alb}\n}}\n\noutput \"rule_arn\" {{\n  value = module.cutover.rule_arn\n}}\n",
            e.s.zone_id, e.s.lb_dns_name, e.s.lb_zone_id, e.listener(), e.blue(), e.green_tg
        )
    };
    wd.config(&config(20));
    // Installs the local module only (`init` would ask the registry about the overridden provider).
    wd.run(&["get", "-no-color"]).assert_success();
    let out = wd.apply(&[]);
    out.assert_line("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    let canary = wd.state_resource("module.cutover.canary_listener.alb").expect("canary in state");
    let rule_arn = canary["rule_arn"].as_str().expect("rule_arn").to_string();
    assert_eq!(wd.output("rule_arn"), rule_arn.as_str());
    assert_eq!(sdk_weights(&e, &e.green_tg, &rule_arn), (80, 20));
    let switch = wd.state_resource("module.cutover.bluegreen_switch.dns").expect("switch in state");
    assert_eq!(switch["traffic"], 0);
    let sets = fixture::record_sets(&e.s.zone_id, &name);
    assert_eq!(sets.len(), 2, "the weighted pair: {sets:#?}");
    wd.assert_no_changes();

    // Destroy needs the canary at 0 % (delete refused otherwise).
    wd.config(&config(0));
    wd.apply(&[]);
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 2 destroyed.");
    // The switch collapsed to one simple record pointing at blue; the canary's rules are gone.
    let sets = fixture::record_sets(&e.s.zone_id, &name);
    assert_eq!(sets.len(), 1, "{sets:#?}");
    assert_eq!(sets[0].set_identifier, None, "a simple record: {sets:#?}");
    assert_eq!(sets[0].alias.as_ref().map(|a| fixture::fqdn(&a.dns_name)), Some(fixture::fqdn(&e.s.lb_dns_name)));
    assert!(non_default_rules(e.listener()).is_empty(), "{:#?}", non_default_rules(e.listener()));
    assert_eq!(listener_default(e.listener()), [(e.blue().to_string(), 1)]);
}

/// The same bug the switch suite found (`module_with_list_elements_from_variables`) hits the canary: a list whose
/// element is unknown at validate — `host_header = [var.host]` inside a module — fails the plan.
#[test]
fn module_with_list_elements_from_variables() {
    let wd = Workdir::new("canary-module-lists");
    wd.write(
        "modules/canary/main.tf",
        r#"terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}

variable "host" {
  type = string
}

resource "canary_listener" "this" {
  provider     = bluegreen
  listener_arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/legacy/0123456789abcdef/0123456789abcdef"
  priority     = 100

  match {
    host_header = [var.host]
  }

  blue_target_group_arn  = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/legacy/0123456789abcdef"
  green_target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ecs/fedcba9876543210"
  traffic                = 0
}
"#,
    );
    wd.config("module \"canary\" {\n  source    = \"./modules/canary\"\n  providers = {\n    bluegreen = bluegreen\n  }\n  host      = \"api.example.com\"\n}\n");
    wd.run(&["get", "-no-color"]).assert_success();
    let plan = wd.plan(&[]);
    plan.assert_line("# module.canary.canary_listener.this will be created");
}

// ---------------------------------------------------------------------------
// 10. Bad input: plan errors with attribute paths, no AWS call
// ---------------------------------------------------------------------------

mod bad_input {
    use bluegreen_acceptance::bad_input::{
        self, canary_base, case, Aws, BadInput, BLUE_TG_ARN as BLUE, GREEN_TG_ARN as GREEN, LISTENER_ARN as LISTENER,
    };

    /// The base with `from` (which must occur once) replaced by `to`.
    fn edit(from: &str, to: &str) -> String {
        bad_input::edit(&canary_base(), from, to)
    }

    /// The base with `block` added before the closing brace.
    fn add(block: &str) -> String {
        bad_input::add(&canary_base(), block)
    }

    /// Nothing listens where the provider is sent: an AWS call would fail, so the error must come from validation.
    fn check(name: &str, c: BadInput) {
        c.aws(Aws::Unreachable).check(&format!("canary-bad-{name}"));
    }

    use bluegreen_acceptance::cases;

    cases! {
        traffic_101 => case(edit("traffic                = 10", "traffic                = 101"),
            "Invalid traffic", "traffic                = 101", "traffic must be between 0 and 100, got 101.");
        traffic_negative => case(edit("traffic                = 10", "traffic                = -1"),
            "Invalid traffic", "traffic                = -1", "traffic must be between 0 and 100, got -1.");
        priority_0 => case(edit("priority     = 100", "priority     = 0"),
            "Invalid priority", "priority     = 0", "priority must be between 1 and 50000, got 0.");
        priority_0_without_test_route => case(
            edit("priority     = 100", "priority     = 0").replacen("\n  test_route {\n    header_name   = \"X-Canary\"\n    header_values = [\"1\"]\n  }\n", "", 1),
            "Invalid priority", "priority     = 0", "priority must be between 1 and 50000, got 0.");
        priority_50001 => case(edit("priority     = 100", "priority     = 50001"),
            "Invalid priority", "priority     = 50001", "priority must be between 1 and 50000, got 50001.");
        priority_1_leaves_no_room_for_the_test_route => case(edit("priority     = 100", "priority     = 1"),
            "No room for the test route", "priority     = 1", "With priority = 1 the test rule has no lower priority");
        test_priority_equal_to_priority => case(edit("header_values = [\"1\"]", "header_values = [\"1\"]\n    priority      = 100"),
            "Test route must come first", "priority      = 100", "The test rule's priority (100) must be lower than the weighted rule's (100)");
        test_priority_above_priority => case(edit("header_values = [\"1\"]", "header_values = [\"1\"]\n    priority      = 150"),
            "Test route must come first", "priority      = 150", "The test rule's priority (150) must be lower than the weighted rule's (100)");
        header_name_host => case(edit("\"X-Canary\"", "\"Host\""),
            "Invalid header_name", "header_name   = \"Host\"", "The Host header cannot be a header condition");
        header_name_wildcard => case(edit("\"X-Canary\"", "\"X-*\""),
            "Invalid header_name", "header_name   = \"X-*\"", "contains a wildcard");
        header_name_41_chars => case(edit("\"X-Canary\"", &format!("\"X-{}\"", "a".repeat(39))),
            "Invalid header_name", "header_name   =", "header_name must have at most 40 characters, got 41.");
        header_name_with_a_space => case(edit("\"X-Canary\"", "\"X Canary\""),
            "Invalid header_name", "header_name   =", "is not an HTTP header name");
        header_values_4 => case(edit("header_values = [\"1\"]", "header_values = [\"1\", \"2\", \"3\", \"4\"]"),
            "Invalid header_values", "header_values =", "header_values allows at most 3 element(s), got 4.");
        host_header_4 => case(edit("[\"api.example.com\"]", "[\"a.example.com\", \"b.example.com\", \"c.example.com\", \"d.example.com\"]"),
            "Invalid host_header", "host_header =", "host_header allows at most 3 element(s), got 4.");
        host_3_and_path_3 => case(
            edit("host_header = [\"api.example.com\"]", "host_header  = [\"a.example.com\", \"b.example.com\", \"c.example.com\"]\n    path_pattern = [\"/a/*\", \"/b/*\", \"/c/*\"]"),
            "Too many condition values", "path_pattern =", "A rule allows at most 5 condition values in all; match has 6");
        host_3_and_path_3_without_test_route_message => case(
            edit("host_header = [\"api.example.com\"]", "host_header  = [\"a.example.com\", \"b.example.com\", \"c.example.com\"]\n    path_pattern = [\"/a/*\", \"/b/*\", \"/c/*\"]")
                .replacen("\n  test_route {\n    header_name   = \"X-Canary\"\n    header_values = [\"1\"]\n  }\n", "", 1),
            "Too many condition values", "path_pattern =", "A rule allows at most 5 condition values in all; match has 6").anywhere();
        test_rule_over_5_values => case(
            edit("host_header = [\"api.example.com\"]", "host_header  = [\"a.example.com\", \"b.example.com\"]\n    path_pattern = [\"/a/*\", \"/b/*\"]")
                .replacen("header_values = [\"1\"]", "header_values = [\"1\", \"2\"]", 1),
            "Too many condition values", "header_values =", "6 values, at most 5 allowed.");
        blue_equals_green => case(edit(GREEN, BLUE),
            "Blue and green are the same target group", "green_target_group_arn =", "it equals blue_target_group_arn");
        malformed_listener_arn => case(edit(LISTENER, "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/legacy/0123456789abcdef"),
            "Invalid listener_arn", "listener_arn =", "listener_arn must be a listener ARN");
        malformed_target_group_arn => case(edit(BLUE, "legacy"),
            "Invalid blue_target_group_arn", "blue_target_group_arn  =", "blue_target_group_arn must be a target group ARN");
        stickiness_0s => case(add("\n  stickiness {\n    duration = \"0s\"\n  }\n"),
            "Invalid stickiness duration", "duration = ", "duration must be between 1s and");
        stickiness_8d => case(add("\n  stickiness {\n    duration = \"8d\"\n  }\n"),
            "Invalid stickiness duration", "duration = ", "got \"8d\".");
        stickiness_soon => case(add("\n  stickiness {\n    duration = \"soon\"\n  }\n"),
            "Invalid stickiness duration", "duration = ", "\"soon\" is not a duration");
        bake_time_x => case(add("\n  rollout {\n    steps     = [10]\n    bake_time = \"x\"\n  }\n"),
            "Invalid bake_time", "bake_time = ", "\"x\" is not a duration");
        steps_decreasing => case(add("\n  rollout {\n    steps     = [50, 10]\n    bake_time = \"1s\"\n  }\n"),
            "Invalid rollout step", "steps     = ", "step 10 comes after 50");
        url_ftp => case(add("\n  health_gate {\n    http_check {\n      url = \"ftp://x\"\n    }\n  }\n"),
            "Invalid url", "url = ", "must start with http:// or https://");
        on_destroy_keep => case(add("\n  on_destroy = \"keep\"\n"),
            "Invalid on_destroy", "on_destroy = ", "on_destroy must be one of \"delete\", \"promote\", got \"keep\".");
        on_gate_failure_panic => case(add("\n  on_gate_failure = \"panic\"\n"),
            "Invalid on_gate_failure", "on_gate_failure = ", "on_gate_failure must be one of \"rollback\", \"halt\", got \"panic\".");
    }
}

/// Ctrl-C 1 s into a 15 s bake at 30 %, 5 s pause, then the next apply waits only what is left of the bake.
#[test]
fn ctrl_c_mid_bake_then_the_next_apply_waits_only_the_rest_of_the_bake() {
    let e = env("cresume");
    let wd = Workdir::new("canary-resume");
    let cfg = Cfg::new(&e, &e.green_tg, 0).extra(&rollout_tf(&[30], "15s"));
    wd.config(&cfg.tf());
    wd.apply(&[]);
    wd.config(&cfg.traffic(60).tf());
    let out = wd.run_interrupted(&["apply", "-no-color", "-input=false", "-auto-approve"], &[("TF_LOG", "INFO")], |line| {
        line.contains("provider.terraform-provider-bluegreen: step 1/2")
    });
    out.assert_failure();
    out.error("Stopped at 30% green");
    assert_state_is_reality(&wd, &e, &e.green_tg, 30);
    let at_30 = bluegreen_acceptance::epoch_secs(&state(&wd)["shifted_at"]);
    thread::sleep(Duration::from_secs(5));
    let resumed = wd.apply_output(&[]);
    resumed.assert_success();
    println!("---- resumed apply took {:.1?}", resumed.elapsed);
    assert_state_is_reality(&wd, &e, &e.green_tg, 60);
    let at_60 = bluegreen_acceptance::epoch_secs(&state(&wd)["shifted_at"]);
    assert!(at_60 - at_30 >= 14, "60 % reached {} s after 30 %: the bake was cut short", at_60 - at_30);
    assert!(resumed.elapsed < Duration::from_secs(13), "the resumed apply waited a whole bake: {:.1?}", resumed.elapsed);
    wd.assert_no_changes();
}
