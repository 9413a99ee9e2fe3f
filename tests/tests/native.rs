//! Native on Terraform 1.12–1.15 (issue 21), against LocalStack: the ALB canary under the provider's own prefix
//! (`bluegreen_canary_listener`, no `provider` line) beside its older name, `moved` between the names (Terraform ≥
//! 1.8, MoveResourceState), resource identity and `import { identity = { … } }` (Terraform ≥ 1.12), and the
//! `bluegreen_records` data source feeding a `for_each` of switches (every version), and the `bluegreen_gate_check`
//! action run with `terraform apply -invoke` (Terraform ≥ 1.14).
//!
//! Tests that need a newer Terraform than the one under test say so and return: Terraform 1.0.3 and 1.6.6 must
//! behave as before, which the other suites check.

use bluegreen_acceptance::{fixture, unique_suffix, TerraformVersion, Workdir};
use serde_json::Value;

/// A legacy stack plus a healthy green target group.
struct Env {
    s: fixture::LegacyStack,
    green_tg: String,
}

fn env(prefix: &str) -> Env {
    let s = fixture::legacy_stack(&unique_suffix(prefix));
    let green_tg = fixture::green_target_group(&s, &["i-0feedfacecafe0101".to_string(), "i-0feedfacecafe0102".to_string()]);
    Env { s, green_tg }
}

/// A canary of type `ty` named `x`, with `provider = bluegreen` when `provider_line`.
fn canary_tf(ty: &str, e: &Env, priority: i64, green: &str, traffic: i64, provider_line: bool) -> String {
    let provider = if provider_line { "  provider = bluegreen\n\n" } else { "" };
    format!(
        r#"resource "{ty}" "x" {{
{provider}  listener_arn = "{listener}"
  priority     = {priority}

  blue_target_group_arn  = "{blue}"
  green_target_group_arn = "{green}"
  traffic                = {traffic}

  test_route {{
    header_name   = "X-Canary"
    header_values = ["1"]
  }}
}}
"#,
        listener = e.s.listener_arn,
        blue = e.s.tg_arn,
    )
}

fn version() -> TerraformVersion {
    Workdir::new("version").env().terraform_version
}

/// Whether the Terraform under test is at least `v`; if not, says which test is skipped and why.
fn at_least(v: TerraformVersion, what: &str) -> bool {
    let have = version();
    if have < v {
        println!("skipped on Terraform {have}: {what} needs Terraform ≥ {v}");
        return false;
    }
    true
}

/// The weights and priority of a listener rule, as ELBv2 reports them.
fn rule_view(listener: &str, arn: &str) -> (Option<String>, Vec<(String, i32)>) {
    let rules = fixture::listener_rules(listener);
    let r = rules.iter().find(|r| r.rule_arn() == Some(arn)).unwrap_or_else(|| panic!("no rule {arn} on {listener}"));
    let weights = r
        .actions()
        .iter()
        .filter_map(|a| a.forward_config())
        .flat_map(|f| f.target_groups().iter().map(|t| (t.target_group_arn().unwrap_or_default().to_string(), t.weight().unwrap_or(1))))
        .collect();
    (r.priority().map(str::to_string), weights)
}

#[track_caller]
fn state(wd: &Workdir, address: &str) -> Value {
    wd.state_resource(address).unwrap_or_else(|| panic!("{address} is not in the state: {:#}", wd.show_json()))
}

// ---------------------------------------------------------------------------
// 1. bluegreen_canary_listener, and canary_listener beside it
// ---------------------------------------------------------------------------

/// The prefixed name works without a `provider` line (Terraform takes a type's provider from its prefix); the older
/// name without one names a provider `hashicorp/canary` that does not exist, which is why the prefixed name is there.
#[test]
fn prefixed_canary_needs_no_provider_line() {
    let e = env("np");
    let wd = Workdir::new("native-prefixed");
    wd.config(&canary_tf("bluegreen_canary_listener", &e, 100, &e.green_tg, 20, false));
    let plan = wd.plan(&[]);
    plan.assert_line("# bluegreen_canary_listener.x will be created");
    wd.apply(&[]);
    let s = state(&wd, "bluegreen_canary_listener.x");
    let rule = s["rule_arn"].as_str().expect("rule_arn");
    let (priority, weights) = rule_view(&e.s.listener_arn, rule);
    assert_eq!(priority.as_deref(), Some("100"));
    assert_eq!(weights, [(e.s.tg_arn.clone(), 80), (e.green_tg.clone(), 20)]);
    wd.assert_no_changes();
    wd.run(&["destroy", "-no-color", "-input=false", "-auto-approve"]).assert_failure();
    // Refused while green has traffic, as for canary_listener; at 0 % it goes.
    wd.config(&canary_tf("bluegreen_canary_listener", &e, 100, &e.green_tg, 0, false));
    wd.apply(&[]);
    wd.run(&["destroy", "-no-color", "-input=false", "-auto-approve"]).assert_success();
    assert!(fixture::listener_rules(&e.s.listener_arn).iter().all(|r| r.rule_arn() != Some(rule)), "the rule is gone");

    let old = Workdir::new("native-unprefixed");
    old.config(&canary_tf("canary_listener", &e, 100, &e.green_tg, 20, false));
    let out = old.plan_output(&[]);
    out.assert_failure();
    assert!(format!("{}{}", out.stdout, out.stderr).contains("hashicorp/canary"), "{out}");
}

/// One claims registry for both names: a `canary_listener` and a `bluegreen_canary_listener` on one listener
/// priority fail the plan, pointing at the priority, as two of either do.
#[test]
fn the_old_and_the_prefixed_name_share_listener_priorities() {
    let e = env("nc");
    let wd = Workdir::new("native-claims");
    let both = format!(
        "{}\n{}",
        canary_tf("canary_listener", &e, 200, &e.green_tg, 0, true),
        // Another configuration (the claims tell a resource planned twice from another by its configuration).
        canary_tf("bluegreen_canary_listener", &e, 200, &e.s.empty_tg_arn, 0, false).replace(r#"["1"]"#, r#"["2"]"#)
    );
    wd.config(&both);
    let out = wd.plan_json_output(&[], &[]);
    out.assert_failure();
    let refused: Vec<String> =
        out.errors().iter().filter(|d| d.summary == "Two canaries on one listener priority").map(|d| d.detail()).collect();
    assert_eq!(refused.len(), 2, "the priority and the test route's priority − 1: {out}");
    assert!(refused.iter().any(|d| d.starts_with("Priority 200 on listener")), "{refused:?}");
    assert!(refused.iter().any(|d| d.starts_with("Priority 199 on listener")), "{refused:?}");
    assert!(fixture::listener_rules(&e.s.listener_arn).iter().all(|r| r.priority() != Some("200")), "nothing created");
}

/// `moved` from the old name to the prefixed one (Terraform ≥ 1.8): the plan shows the move and nothing else, the
/// apply changes nothing in AWS, and the plan after it is empty.
#[test]
fn moved_from_canary_listener_plans_only_the_move_and_then_nothing() {
    if !at_least(TerraformVersion::new(1, 8, 0), "moved across resource types") {
        return;
    }
    let e = env("nm");
    let wd = Workdir::new("native-moved");
    wd.config(&canary_tf("canary_listener", &e, 300, &e.green_tg, 30, true));
    wd.apply(&[]);
    let before = state(&wd, "canary_listener.x");
    let rule = before["rule_arn"].as_str().expect("rule_arn").to_string();
    let rules_before = rule_view(&e.s.listener_arn, &rule);

    wd.config(&format!(
        "{}\nmoved {{\n  from = canary_listener.x\n  to   = bluegreen_canary_listener.x\n}}\n",
        canary_tf("bluegreen_canary_listener", &e, 300, &e.green_tg, 30, false)
    ));
    let plan = wd.plan(&["-detailed-exitcode"]);
    println!("---- plan with the moved block:\n{}", plan.stdout);
    plan.assert_line("# canary_listener.x has moved to bluegreen_canary_listener.x");
    plan.assert_line("Plan: 0 to add, 0 to change, 0 to destroy.");
    assert!(!plan.stdout.contains("will be updated") && !plan.stdout.contains("must be replaced"), "{plan}");
    wd.apply(&[]);
    assert_eq!(wd.state_addresses(), ["bluegreen_canary_listener.x"]);
    let after = state(&wd, "bluegreen_canary_listener.x");
    assert_eq!(after, before, "the state moved as it was");
    assert_eq!(rule_view(&e.s.listener_arn, &rule), rules_before, "the rule is untouched");
    wd.assert_no_changes();
}

// ---------------------------------------------------------------------------
// 2. Resource identity (Terraform ≥ 1.12)
// ---------------------------------------------------------------------------

/// The identity Terraform stored for `address` (`terraform show -json`).
#[track_caller]
fn identity(wd: &Workdir, address: &str) -> Value {
    let show = wd.show_json();
    let r = show["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} is not in the state: {show:#}"));
    assert_eq!(r["identity_schema_version"], 0, "{r:#}");
    r["identity"].clone()
}

fn switch_tf(zone_id: &str, name: &str, traffic: i64) -> String {
    format!(
        r#"resource "bluegreen_switch" "x" {{
  zone_id = "{zone_id}"
  name    = "{name}"

  blue {{
    records = ["10.20.0.1"]
  }}

  green {{
    set_identifier = "ecs"
    records        = ["10.20.0.2"]
  }}

  traffic = {traffic}
}}
"#
    )
}

/// Read, plan and apply return the switch's identity; `import { identity = { … } }` in a second configuration
/// imports it with an empty plan after, the set identifier it leaves out defaulting as the resource's does.
#[test]
fn switch_import_by_identity_plans_empty() {
    if !at_least(TerraformVersion::new(1, 12, 0), "resource identity") {
        return;
    }
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("ni"));
    let name = format!("svc.{zone_name}");
    let created = Workdir::new("native-identity-switch-src");
    created.config(&switch_tf(&zone_id, &name, 20));
    created.apply(&[]);
    let id = identity(&created, "bluegreen_switch.x");
    assert_eq!(
        id,
        serde_json::json!({"zone_id": zone_id, "name": name, "type": "A", "blue_set_identifier": "blue", "green_set_identifier": "ecs"})
    );
    let want = state(&created, "bluegreen_switch.x");

    let imported = Workdir::new("native-identity-switch-dst");
    imported.config(&format!(
        "{}\nimport {{\n  to = bluegreen_switch.x\n  identity = {{\n    zone_id              = \"{zone_id}\"\n    name                 = \"{name}\"\n    type                 = \"A\"\n    green_set_identifier = \"ecs\"\n  }}\n}}\n",
        switch_tf(&zone_id, &name, 20)
    ));
    let plan = imported.plan(&[]);
    println!("---- plan with the import block:\n{}", plan.stdout);
    plan.assert_line("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");
    imported.apply(&[]);
    assert_eq!(identity(&imported, "bluegreen_switch.x"), id);
    let got = state(&imported, "bluegreen_switch.x");
    for k in ["id", "zone_id", "name", "type", "traffic", "blue", "green", "blue_weight", "green_weight"] {
        assert_eq!(got[k], want[k], "{k}");
    }
    imported.assert_no_changes();

    // An identity that names no pair is refused, saying what is missing.
    let wrong = Workdir::new("native-identity-switch-bad");
    wrong.config(&format!(
        "{}\nimport {{\n  to = bluegreen_switch.x\n  identity = {{\n    zone_id = \"{zone_id}\"\n    name    = \"nothing.{zone_name}\"\n    type    = \"A\"\n  }}\n}}\n",
        switch_tf(&zone_id, &format!("nothing.{zone_name}"), 20)
    ));
    wrong.plan_output(&[]).assert_failure();
}

/// The canary's identity is its rules; import by identity gives the state import by id gives, and an empty plan.
#[test]
fn canary_import_by_identity_plans_empty() {
    if !at_least(TerraformVersion::new(1, 12, 0), "resource identity") {
        return;
    }
    let e = env("nj");
    let created = Workdir::new("native-identity-canary-src");
    let tf = canary_tf("bluegreen_canary_listener", &e, 400, &e.green_tg, 0, false);
    created.config(&tf);
    created.apply(&[]);
    let s = state(&created, "bluegreen_canary_listener.x");
    let (rule, test) = (s["rule_arn"].as_str().expect("rule_arn"), s["test_rule_arn"].as_str().expect("test_rule_arn"));
    let id = identity(&created, "bluegreen_canary_listener.x");
    assert_eq!(id, serde_json::json!({"rule_arn": rule, "test_rule_arn": test}));

    let imported = Workdir::new("native-identity-canary-dst");
    imported.config(&format!(
        "{tf}\nimport {{\n  to = bluegreen_canary_listener.x\n  identity = {{\n    rule_arn      = \"{rule}\"\n    test_rule_arn = \"{test}\"\n  }}\n}}\n"
    ));
    imported.plan(&[]).assert_line("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");
    imported.apply(&[]);
    assert_eq!(identity(&imported, "bluegreen_canary_listener.x"), id);
    let got = state(&imported, "bluegreen_canary_listener.x");
    for k in ["id", "rule_arn", "test_rule_arn", "listener_arn", "priority", "traffic", "blue_target_group_arn", "green_target_group_arn"] {
        assert_eq!(got[k], s[k], "{k}");
    }
    imported.assert_no_changes();
}

/// `terraform providers schema -json` lists the identity schemas (Terraform ≥ 1.12).
#[test]
fn identity_schemas_are_served() {
    if !at_least(TerraformVersion::new(1, 12, 0), "resource identity") {
        return;
    }
    let all = Workdir::new("native-identity-schema").providers_schema_json();
    let ours = &all["provider_schemas"][bluegreen_acceptance::PROVIDER_ADDRESS]["resource_identity_schemas"];
    let attrs = |t: &str| -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> = ours[t]["attributes"]
            .as_object()
            .unwrap_or_else(|| panic!("no identity schema for {t}: {ours:#}"))
            .iter()
            .map(|(k, a)| (k.clone(), a["required_for_import"].as_bool().unwrap_or(false)))
            .collect();
        v.sort();
        v
    };
    let s = |n: &str, r: bool| (n.to_string(), r);
    assert_eq!(
        attrs("bluegreen_switch"),
        [s("blue_set_identifier", false), s("green_set_identifier", false), s("name", true), s("type", true), s("zone_id", true)]
    );
    for t in ["bluegreen_canary_listener", "canary_listener"] {
        assert_eq!(attrs(t), [s("rule_arn", true), s("test_rule_arn", false)], "{t}");
    }
}

// ---------------------------------------------------------------------------
// 4. bluegreen_records feeding a for_each of switches (every Terraform version)
// ---------------------------------------------------------------------------

/// Every name on the legacy load balancer, found by `bluegreen_records` (the alias target spelled in upper case with
/// a `dualstack.` prefix and a trailing dot), adopted by one `for_each` of `bluegreen_switch`; names pointing
/// elsewhere are left alone, and the plan after the apply is empty (the adopted names' blue sides still point at the
/// legacy load balancer, under the same keys).
#[test]
fn records_feed_a_for_each_of_switches() {
    let s = fixture::legacy_stack(&unique_suffix("nr"));
    let www = format!("www.{}", s.zone_name);
    let other = format!("other.{}", s.zone_name);
    fixture::simple_alias_record(&s.zone_id, &www, &s.lb_dns_name, &s.lb_zone_id, false);
    fixture::simple_a_record(&s.zone_id, &other, &["192.0.2.99"], 300);
    let spelled = format!("dualstack.{}.", s.lb_dns_name.to_uppercase());
    let wd = Workdir::new("native-records");
    wd.config(&format!(
        r#"data "bluegreen_records" "legacy" {{
  zone_id      = "{zone}"
  alias_target = "{spelled}"
}}

locals {{
  # A name a switch manages answers from its blue side (set identifier "blue"), still on the legacy load balancer.
  legacy = {{ for r in data.bluegreen_records.legacy.records : "${{r.name}}/${{r.type}}" => r if r.set_identifier == null || r.set_identifier == "blue" }}
}}

resource "bluegreen_switch" "all" {{
  for_each = local.legacy

  zone_id        = "{zone}"
  name           = each.value.name
  type           = each.value.type
  adopt_existing = true
  traffic        = 10

  blue {{
    alias {{
      name    = "{lb}"
      zone_id = "{lb_zone}"
    }}
  }}
  green {{
    records = ["198.51.100.7"]
  }}
}}

output "found" {{
  value = data.bluegreen_records.legacy.records
}}
"#,
        zone = s.zone_id,
        lb = s.lb_dns_name,
        lb_zone = s.lb_zone_id,
    ));
    let plan = wd.plan(&[]);
    let api = format!("api.{}", s.zone_name);
    plan.assert_line(&format!("# bluegreen_switch.all[\"{api}/A\"] will be created"));
    plan.assert_line(&format!("# bluegreen_switch.all[\"{www}/A\"] will be created"));
    plan.assert_line("Plan: 2 to add, 0 to change, 0 to destroy.");
    wd.apply(&[]);
    for name in [&api, &www] {
        assert_eq!(fixture::weights(&s.zone_id, name), [("blue".to_string(), 90), ("green".to_string(), 10)], "{name}");
    }
    assert_eq!(fixture::record_sets(&s.zone_id, &other).len(), 1, "a name pointing elsewhere is untouched");
    let seen = |wd: &Workdir| -> Vec<(String, String, String, Value)> {
        let found = wd.output("found");
        found
            .as_array()
            .unwrap_or_else(|| panic!("records: {found:#}"))
            .iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap_or("").to_string();
                (text("name"), text("routing"), text("set_identifier"), r["weight"].clone())
            })
            .collect()
    };
    // What the plan read: the simple aliases.
    let simple = |n: &str| (n.to_string(), "simple".to_string(), String::new(), Value::Null);
    assert_eq!(seen(&wd), [simple(&api), simple(&www)]);
    // Read again: the same names, now through their blue sides, so the for_each keys hold and no resource changes.
    wd.run(&["apply", "-refresh-only", "-no-color", "-input=false", "-auto-approve"]).assert_success();
    let blue = |n: &str| (n.to_string(), "weighted".to_string(), "blue".to_string(), Value::from(90));
    assert_eq!(seen(&wd), [blue(&api), blue(&www)]);
    wd.assert_no_changes();
}

// ---------------------------------------------------------------------------
// 3. terraform query and generated configuration (Terraform ≥ 1.14)
// ---------------------------------------------------------------------------

/// Pairs and rules made outside Terraform: `terraform query` lists them with their display names, and
/// `-generate-config-out` writes configuration plus import blocks that, applied, import them with no change. The
/// test route's header values are sensitive, so Terraform writes `null # sensitive` for them: filled in by hand, as
/// a user would.
#[test]
fn query_lists_what_exists_and_its_generated_configuration_imports_with_no_change() {
    use aws_sdk_elasticloadbalancingv2::types as elb;
    use aws_sdk_route53::types as r53;
    if !at_least(TerraformVersion::new(1, 14, 0), "terraform query") {
        return;
    }
    let e = env("nq");
    let sfx = &e.s.suffix;
    // A second pair made outside Terraform, set identifiers unique in the zone (LocalStack deletes by identifier).
    let pay = format!("pay.{}", e.s.zone_name);
    let set = |id: &str, weight: i64, ip: &str| {
        r53::ResourceRecordSet::builder()
            .name(&pay)
            .r#type(r53::RrType::A)
            .set_identifier(format!("{id}-{sfx}"))
            .weight(weight)
            .ttl(60)
            .resource_records(r53::ResourceRecord::builder().value(ip).build().expect("record"))
            .build()
            .expect("record set")
    };
    fixture::change_record_sets(
        &e.s.zone_id,
        vec![(r53::ChangeAction::Create, set("legacy", 75, "192.0.2.50")), (r53::ChangeAction::Create, set("new", 25, "192.0.2.60"))],
    );
    // A weighted rule and its header test rule made outside Terraform.
    let host = format!("shop.{}", e.s.zone_name);
    let host_cond = || {
        elb::RuleCondition::builder()
            .field("host-header")
            .host_header_config(elb::HostHeaderConditionConfig::builder().values(host.clone()).build())
            .build()
    };
    let create = |priority: i32, conditions: Vec<elb::RuleCondition>, tgs: &[(&str, i32)]| {
        let mut fwd = elb::ForwardActionConfig::builder();
        for (tg, w) in tgs {
            fwd = fwd.target_groups(elb::TargetGroupTuple::builder().target_group_arn(*tg).weight(*w).build());
        }
        let action = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).order(1).forward_config(fwd.build()).build();
        let out = bluegreen_acceptance::block_on(
            bluegreen_acceptance::aws()
                .elbv2
                .create_rule()
                .listener_arn(&e.s.listener_arn)
                .priority(priority)
                .set_conditions(Some(conditions))
                .actions(action)
                .send(),
        )
        .unwrap_or_else(|err| panic!("CreateRule {priority}: {err:?}"));
        out.rules().first().and_then(|r| r.rule_arn()).expect("rule arn").to_string()
    };
    let header = elb::RuleCondition::builder()
        .field("http-header")
        .http_header_config(elb::HttpHeaderConditionConfig::builder().http_header_name("X-Canary").values("1").build())
        .build();
    let rule = create(60, vec![host_cond()], &[(&e.s.tg_arn, 80), (&e.green_tg, 20)]);
    let test = create(59, vec![host_cond(), header], &[(&e.green_tg, 1)]);

    let wd = Workdir::new("native-query");
    wd.config("");
    wd.write(
        "found.tfquery.hcl",
        &format!(
            r#"list "bluegreen_switch" "pairs" {{
  provider = bluegreen
  config {{
    zone_id = "{zone}"
  }}
}}

list "bluegreen_canary_listener" "rules" {{
  provider = bluegreen
  config {{
    listener_arn = "{listener}"
  }}
}}
"#,
            zone = e.s.zone_id,
            listener = e.s.listener_arn
        ),
    );
    wd.write(
        "first.tfquery.hcl",
        &format!(
            "list \"bluegreen_switch\" \"first\" {{\n  provider = bluegreen\n  limit    = 1\n  config {{\n    zone_id = \"{}\"\n  }}\n}}\n",
            e.s.zone_id
        ),
    );
    let query = wd.run(&["query", "-no-color"]);
    println!("---- terraform query:\n{}", query.stdout);
    query.assert_success();
    let app = &e.s.weighted_name;
    for shown in
        [format!("{app} A — 10 % green"), format!("{pay} A — 25 % green"), format!("priority 60 ({host}) — 20 % green, with a test route")]
    {
        assert!(query.stdout.contains(&shown), "{shown:?} not shown\n{query}");
    }
    let first: Vec<&str> = query.stdout.lines().filter(|l| l.starts_with("list.bluegreen_switch.first")).collect();
    assert_eq!(first.len(), 1, "limit = 1\n{query}");

    std::fs::remove_file(wd.path().join("first.tfquery.hcl")).expect("remove the limited list");
    let gen = wd.run(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    gen.assert_success();
    let generated = std::fs::read_to_string(wd.path().join("generated.tf")).expect("generated.tf");
    println!("---- generated.tf:\n{generated}");
    assert_eq!(generated.matches("import {").count(), 3, "two pairs and one rule\n{generated}");
    assert!(generated.contains("header_values = null # sensitive"), "{generated}");
    wd.write("generated.tf", &generated.replace("header_values = null # sensitive", r#"header_values = ["1"]"#));
    std::fs::remove_file(wd.path().join("found.tfquery.hcl")).expect("remove the query");
    let plan = wd.plan(&[]);
    println!("---- plan of the generated configuration:\n{}", plan.stdout);
    plan.assert_line("Plan: 3 to import, 0 to add, 0 to change, 0 to destroy.");
    wd.apply(&[]);
    wd.assert_no_changes();
    assert_eq!(rule_view(&e.s.listener_arn, &rule).1, [(e.s.tg_arn.clone(), 80), (e.green_tg.clone(), 20)], "untouched");
    assert!(fixture::listener_rules(&e.s.listener_arn).iter().any(|r| r.rule_arn() == Some(test.as_str())));
    assert_eq!(fixture::weights(&e.s.zone_id, &pay), [(format!("legacy-{sfx}"), 75), (format!("new-{sfx}"), 25)]);
}

/// A switch at 20 % whose gate is one alarm, and `action "bluegreen_gate_check" "x"` naming it by its identity, with
/// the same gate through a local and `since` from its `shifted_at`.
fn gate_check_tf(zone_id: &str, name: &str, alarm: &str) -> String {
    format!(
        r#"locals {{
  gate_alarms = ["{alarm}"]
}}

{switch}
action "bluegreen_gate_check" "x" {{
  config {{
    switch {{
      zone_id              = bluegreen_switch.x.zone_id
      name                 = bluegreen_switch.x.name
      green_set_identifier = "ecs"
    }}
    health_gate {{
      cloudwatch_alarms = local.gate_alarms
    }}
    since = bluegreen_switch.x.shifted_at
  }}
}}
"#,
        switch = switch_tf(zone_id, name, 20)
            .replace("  traffic = 20\n", "  traffic = 20\n\n  health_gate {\n    cloudwatch_alarms = local.gate_alarms\n  }\n"),
    )
}

/// Errors = 0 now and a minute ago, so that LocalStack's own evaluation of the alarm finds it OK (not
/// INSUFFICIENT_DATA) after a SetAlarmState (tools/LOCALSTACK_NOTES.md).
fn quiet_data(name: &str) {
    use aws_sdk_cloudwatch::types::MetricDatum;
    let now = std::time::SystemTime::now();
    for at in [now, now - std::time::Duration::from_secs(60)] {
        let datum = MetricDatum::builder().metric_name("Errors").value(0.0).timestamp(at.into()).build();
        bluegreen_acceptance::block_on(
            bluegreen_acceptance::aws().cloudwatch.put_metric_data().namespace(format!("GateCheck/{name}")).metric_data(datum).send(),
        )
        .unwrap_or_else(|e| panic!("PutMetricData {name}: {}", aws_sdk_cloudwatch::error::DisplayErrorContext(&e)));
    }
}

fn set_alarm(name: &str, state: aws_sdk_cloudwatch::types::StateValue) {
    bluegreen_acceptance::block_on(
        bluegreen_acceptance::aws()
            .cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason("gate check (test)")
            .send(),
    )
    .unwrap_or_else(|e| panic!("SetAlarmState {name}: {}", aws_sdk_cloudwatch::error::DisplayErrorContext(&e)));
}

/// `terraform apply -invoke=action.bluegreen_gate_check.x` (Terraform ≥ 1.14) judges the switch's gate now and since
/// its `shifted_at`, prints each verdict, and changes nothing: with the alarm OK it passes; after the alarm went to
/// ALARM and back, it fails naming the alarm history, though the alarm is OK now.
#[test]
fn gate_check_action_judges_now_and_since_the_step_and_changes_nothing() {
    if !at_least(TerraformVersion::new(1, 14, 0), "the bluegreen_gate_check action") {
        return;
    }
    use aws_sdk_cloudwatch::types::StateValue;
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("ga"));
    let name = format!("api.{zone_name}");
    let alarm = format!("gate-check-{}", unique_suffix("ga"));
    fixture::errors_alarm(&alarm, &format!("GateCheck/{alarm}"));
    quiet_data(&alarm);
    set_alarm(&alarm, StateValue::Ok);
    let wd = Workdir::new("native-gate-check");
    wd.config(&gate_check_tf(&zone_id, &name, &alarm));
    wd.apply(&[]);
    let before = format!("{:?}", fixture::record_sets(&zone_id, &name));
    let state_before = state(&wd, "bluegreen_switch.x");
    let shifted_at = state_before["shifted_at"].as_str().expect("shifted_at").to_string();

    let pass = wd.apply_output(&["-invoke=action.bluegreen_gate_check.x"]);
    println!("---- gate check, alarm OK:\n{}\n{}", pass.stdout, pass.stderr);
    pass.assert_success();
    assert!(pass.stdout.contains(&format!("bluegreen_switch {name} A: 20 % green (weights blue 80, green 20)")), "{pass}");
    assert!(pass.stdout.contains(&format!("judging now and since {shifted_at}, when this split was reached")), "{pass}");
    assert!(pass.stdout.contains(&format!("pass: alarms: {alarm} OK")), "{pass}");
    assert!(pass.stdout.contains(&format!("verdict: the gate passes; the next increase of {name} A may go ahead")), "{pass}");
    assert!(pass.errors().is_empty(), "{pass}");

    // Overnight: the alarm fires and clears. The next increase would be refused; so is the check.
    std::thread::sleep(std::time::Duration::from_secs(1));
    set_alarm(&alarm, StateValue::Alarm);
    set_alarm(&alarm, StateValue::Ok);
    let fail = wd.apply_output(&["-invoke=action.bluegreen_gate_check.x"]);
    println!("---- gate check, the alarm flapped since the step:\n{}\n{}", fail.stdout, fail.stderr);
    fail.assert_failure();
    let d = fail.only_error();
    // Terraform 1.15 wraps an action's error: its summary and detail become the detail.
    assert_eq!(d.summary, "Error when invoking action", "{d}");
    assert!(d.detail().starts_with(&format!("Gate check failed: CloudWatch alarm history: alarm \"{alarm}\" was ALARM until ")), "{d}");
    assert!(d.detail().contains(&format!("since {shifted_at}, when this split was reached; it is OK now")), "{d}");
    assert!(
        fail.stdout
            .contains("Action failed: action.bluegreen_gate_check.x (triggered by CLI) - Gate check failed: CloudWatch alarm history"),
        "{fail}"
    );
    assert!(d.detail().contains("nothing was changed"), "{d}");

    // Nothing changed: the records, the state and the plan.
    assert_eq!(format!("{:?}", fixture::record_sets(&zone_id, &name)), before);
    assert_eq!(state(&wd, "bluegreen_switch.x"), state_before);
    wd.assert_no_changes();
}

/// The same on a canary, named by its rule: the canary's own green target group is counted (its default), and the
/// rule is as it was after the check.
#[test]
fn gate_check_action_on_a_canary_counts_its_green_target_group() {
    if !at_least(TerraformVersion::new(1, 14, 0), "the bluegreen_gate_check action") {
        return;
    }
    let e = env("gc");
    let wd = Workdir::new("native-gate-check-canary");
    let action = r#"
action "bluegreen_gate_check" "x" {
  config {
    canary {
      rule_arn = bluegreen_canary_listener.x.rule_arn
    }
    health_gate {}
    since = bluegreen_canary_listener.x.shifted_at
  }
}
"#;
    wd.config(&format!("{}{action}", canary_tf("bluegreen_canary_listener", &e, 310, &e.green_tg, 10, false)));
    wd.apply(&[]);
    let rule_arn = state(&wd, "bluegreen_canary_listener.x")["rule_arn"].as_str().expect("rule_arn").to_string();
    let before = rule_view(&e.s.listener_arn, &rule_arn);
    let out = wd.apply_output(&["-invoke=action.bluegreen_gate_check.x"]);
    println!("---- gate check on a canary:\n{}\n{}", out.stdout, out.stderr);
    out.assert_success();
    assert!(out.stdout.contains("10 % green (weights blue 90, green 10)"), "{out}");
    let green = e.green_tg.split('/').nth(1).expect("a target group name");
    assert!(out.stdout.contains(&format!("pass: target group {green}: 2 of 2 targets healthy")), "{out}");
    assert_eq!(rule_view(&e.s.listener_arn, &rule_arn), before);
    wd.assert_no_changes();
}
