//! Configurations edited the way people edit them, with the real terraform
//! CLI against LocalStack, on every Terraform version `make test` runs.
//!
//! For each optional block and attribute of both resources: apply with it,
//! remove it, apply, plan again (empty), put it back; change each in-place
//! setting and check AWS; import with the defaults spelled out and omitted
//! (empty plan); a month of coexistence (idle plans and `apply
//! -refresh-only` stay empty); and destroys that apply would refuse, refused
//! in `plan -destroy` where Terraform plans destroys (≥ 1.3).
//!
//! Terraform 1.0 builds `proposed_new_state` differently from newer versions
//! (it keeps a nested block the configuration removed); these tests are how
//! the difference stays invisible to users.

use std::sync::OnceLock;

use aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext;
use aws_sdk_elasticloadbalancingv2::types as elb;
use bluegreen_acceptance::{aws, block_on, fixture, test_env, unique_suffix, Output, StatusServer, TerraformVersion, Workdir};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// The legacy stack (ALB, listener, a target group with two healthy targets)
/// for the switch tests' gates; only read.
fn stack() -> &'static fixture::LegacyStack {
    static STACK: OnceLock<fixture::LegacyStack> = OnceLock::new();
    STACK.get_or_init(|| fixture::legacy_stack(&unique_suffix("ed")))
}

/// Terraform ≥ 1.3 plans destroys through the provider (the plan_destroy capability).
fn plans_destroys() -> bool {
    test_env().terraform_version >= TerraformVersion::new(1, 3, 0)
}

/// Applies `config`, then checks that a plan finds nothing to do.
#[track_caller]
fn converge(wd: &Workdir, config: &str, step: &str) -> Output {
    wd.config(config);
    let out = wd.apply_output(&[]);
    assert!(out.success(), "{step}: apply failed\n{out}");
    assert_no_changes(wd, step);
    out
}

/// `plan -detailed-exitcode` exits 0: nothing to do.
#[track_caller]
fn assert_no_changes(wd: &Workdir, step: &str) {
    let out = wd.plan_output(&["-detailed-exitcode"]);
    assert_eq!(out.code(), Some(0), "{step}: expected an empty plan\n{out}");
}

#[track_caller]
fn state(wd: &Workdir, address: &str) -> Value {
    wd.state_resource(address).unwrap_or_else(|| panic!("{address} is not in the state: {:#}", wd.show_json()))
}

/// A month of coexistence, compressed: idle plans and refresh-only applies change nothing.
#[track_caller]
fn assert_idle_for_a_month(wd: &Workdir, address: &str) {
    let before = state(wd, address);
    for day in 0..3 {
        assert_no_changes(wd, &format!("idle plan {day}"));
        let out = wd.apply_output(&["-refresh-only"]);
        assert!(out.success(), "apply -refresh-only failed\n{out}");
        assert!(out.stdout.contains("No changes."), "apply -refresh-only found changes\n{out}");
    }
    assert_eq!(state(wd, address), before, "the state drifted while nothing changed");
}

/// The one error terraform printed, by summary and detail.
#[track_caller]
fn only_error(out: &Output) -> (String, String) {
    let errors = out.errors();
    assert_eq!(errors.len(), 1, "expected exactly one error\n{out}");
    (errors[0].summary.clone(), errors[0].detail())
}

// ---------------------------------------------------------------------------
// bluegreen_switch
// ---------------------------------------------------------------------------

const SW: &str = "bluegreen_switch.x";

/// A switch in `zone_id` at `name`: blue is the legacy ALB (alias), green two A records; `body` is inserted verbatim.
fn switch_tf(zone_id: &str, name: &str, blue_extra: &str, green_extra: &str, body: &str) -> String {
    let s = stack();
    format!(
        r#"resource "bluegreen_switch" "x" {{
  zone_id = "{zone_id}"
  name    = "{name}"
  blue {{
{blue_extra}    alias {{
      name    = "{lb}"
      zone_id = "{lbz}"
    }}
  }}
  green {{
{green_extra}    records = ["203.0.113.20", "203.0.113.21"]
  }}
{body}}}
"#,
        lb = s.lb_dns_name,
        lbz = s.lb_zone_id,
    )
}

/// The configuration with `evaluate_target_health = false` in blue's alias (green has records).
fn no_target_health(tf: String) -> String {
    tf.replacen("      zone_id = \"", "      evaluate_target_health = false\n      zone_id = \"", 1)
}

/// Whether Route 53 evaluates the target health of blue's alias.
#[track_caller]
fn blue_evaluates_health(zone_id: &str, name: &str) -> bool {
    let sets = fixture::record_sets(zone_id, name);
    let blue = sets.iter().find(|r| r.set_identifier.as_deref() == Some("blue")).unwrap_or_else(|| panic!("no blue set: {sets:#?}"));
    blue.alias.as_ref().expect("blue is an alias").evaluate_target_health
}

/// `(set identifier, weight, ttl)` of each record set at `name`, sorted.
fn record_view(zone_id: &str, name: &str) -> Vec<(String, i64, Option<i64>)> {
    let mut v: Vec<_> = fixture::record_sets(zone_id, name)
        .into_iter()
        .map(|r| (r.set_identifier.unwrap_or_default(), r.weight.unwrap_or(-1), r.ttl))
        .collect();
    v.sort();
    v
}

const GATED: &str = r#"  traffic = 60
  type    = "A"
  rollout {
    steps     = [20]
    bake_time = "1s"
  }
  health_gate {
    target_group_arns   = ["TG"]
    min_healthy_targets = 2
    http_check {
      url           = "URL"
      host_header   = "api.example.com"
      expect_status = [200, 204]
      insecure_tls  = true
      timeout       = "2s"
    }
  }
  on_gate_failure = "halt"
  on_destroy      = "collapse"
  adopt_existing  = false
  wait_for_sync   = true
  sync_timeout    = "5m"
"#;

/// Every optional block and attribute of the switch: applied, removed one by one, put back; each step re-planned.
#[test]
fn switch_blocks_and_settings_removed_and_restored() {
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("edsw"));
    let name = format!("api.{zone_name}");
    let green_endpoint = StatusServer::start(&[], 200);
    let url = green_endpoint.url("/healthz");
    let gated = GATED.replace("TG", &stack().tg_arn).replace("URL", &url);
    let wd = Workdir::new("edits-switch");
    let tf = |body: &str| switch_tf(&zone_id, &name, "", "", body);
    converge(&wd, &no_target_health(tf(&gated)), "create with rollout, health_gate and every setting");
    assert_eq!(record_view(&zone_id, &name), [("blue".into(), 40, None), ("green".into(), 60, Some(60))]);
    assert!(!blue_evaluates_health(&zone_id, &name));
    assert!(!green_endpoint.requests().is_empty(), "the http_check ran");

    // The cutover is over: the blocks go first (what failed on Terraform 1.0.3), then each setting.
    let mut body = gated.clone();
    let check = format!(
        "    http_check {{\n      url           = \"{url}\"\n      host_header   = \"api.example.com\"\n      expect_status = [200, 204]\n      insecure_tls  = true\n      timeout       = \"2s\"\n    }}\n"
    );
    let gate = format!("  health_gate {{\n    target_group_arns   = [\"{}\"]\n    min_healthy_targets = 2\n  }}\n", stack().tg_arn);
    for (what, text) in [
        ("health_gate.http_check", check.as_str()),
        ("rollout", "  rollout {\n    steps     = [20]\n    bake_time = \"1s\"\n  }\n"),
        ("health_gate", gate.as_str()),
    ] {
        assert!(body.contains(text), "{what} in {body}");
        body = body.replace(text, "");
        converge(&wd, &no_target_health(tf(&body)), &format!("{what} removed"));
    }
    converge(&wd, &tf(&body), "blue.alias.evaluate_target_health removed");
    assert!(blue_evaluates_health(&zone_id, &name), "back to the default in Route 53");
    let mut remaining = body.clone();
    for line in [
        "  type    = \"A\"\n",
        "  on_gate_failure = \"halt\"\n",
        "  on_destroy      = \"collapse\"\n",
        "  adopt_existing  = false\n",
        "  wait_for_sync   = true\n",
        "  sync_timeout    = \"5m\"\n",
    ] {
        assert!(remaining.contains(line), "{line:?} in {remaining}");
        remaining = remaining.replace(line, "");
        converge(&wd, &tf(&remaining), &format!("{} removed", line.trim()));
    }
    assert_eq!(remaining.trim(), "traffic = 60");

    // And back, in one edit: the blocks and settings return; nothing moves in Route 53.
    converge(&wd, &no_target_health(tf(&gated)), "everything put back");
    assert!(!blue_evaluates_health(&zone_id, &name));
    assert_eq!(record_view(&zone_id, &name), [("blue".into(), 40, None), ("green".into(), 60, Some(60))]);
    let s = state(&wd, SW);
    assert_eq!(
        (s["rollout"]["steps"].clone(), s["health_gate"]["min_healthy_targets"].clone()),
        (serde_json::json!([20]), serde_json::json!(2))
    );

    // To 100 % and destroyed: it collapses to green's records.
    converge(&wd, &tf(&gated.replace("traffic = 60", "traffic = 100")), "all green");
    let out = wd.destroy_output(&[]);
    assert!(out.success(), "destroy\n{out}");
    assert_eq!(record_view(&zone_id, &name), [(String::new(), -1, Some(60))], "one simple record for green");
}

/// In-place changes of the switch: each checked in Route 53 and re-planned.
#[test]
fn switch_in_place_changes_reach_route53() {
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("edsi"));
    let name = format!("api.{zone_name}");
    let wd = Workdir::new("edits-switch-in-place");
    converge(&wd, &switch_tf(&zone_id, &name, "", "", "  traffic = 30\n"), "create");
    assert_eq!(record_view(&zone_id, &name), [("blue".into(), 70, None), ("green".into(), 30, Some(60))]);

    converge(&wd, &switch_tf(&zone_id, &name, "", "    ttl = 120\n", "  traffic = 30\n"), "green ttl");
    assert_eq!(record_view(&zone_id, &name), [("blue".into(), 70, None), ("green".into(), 30, Some(120))]);

    let renamed =
        |body: &str| switch_tf(&zone_id, &name, "    set_identifier = \"legacy\"\n", "    set_identifier = \"ecs\"\n    ttl = 120\n", body);
    converge(&wd, &renamed("  traffic = 30\n"), "set identifiers");
    assert_eq!(record_view(&zone_id, &name), [("ecs".into(), 30, Some(120)), ("legacy".into(), 70, None)]);

    converge(&wd, &renamed("  traffic = 75\n"), "traffic");
    assert_eq!(record_view(&zone_id, &name), [("ecs".into(), 75, Some(120)), ("legacy".into(), 25, None)]);

    // Back to the defaults by deleting the attributes: identifiers and TTL return to blue/green and 60.
    converge(&wd, &switch_tf(&zone_id, &name, "", "", "  traffic = 75\n"), "identifiers and ttl removed");
    assert_eq!(record_view(&zone_id, &name), [("blue".into(), 25, None), ("green".into(), 75, Some(60))]);

    // Gate settings change in place (no AWS write): the change id stays.
    let change = state(&wd, SW)["change_id"].clone();
    let gate = |min: i64| {
        format!(
            "  traffic = 75\n  health_gate {{\n    target_group_arns   = [\"{}\"]\n    min_healthy_targets = {min}\n  }}\n",
            stack().tg_arn
        )
    };
    converge(&wd, &switch_tf(&zone_id, &name, "", "", &gate(1)), "gate added");
    converge(&wd, &switch_tf(&zone_id, &name, "", "", &gate(2)), "gate setting changed");
    assert_eq!(state(&wd, SW)["change_id"], change, "no Route 53 change for a gate setting");
    assert_idle_for_a_month(&wd, SW);

    // Split: destroy with collapse is refused; on Terraform ≥ 1.3 already by the plan, before anything is touched.
    let out = wd.plan_output(&["-destroy"]);
    if plans_destroys() {
        assert!(!out.success(), "plan -destroy must refuse a split switch\n{out}");
        assert_eq!(only_error(&out).0, "Destroy refused while traffic is split", "{out}");
    } else {
        assert!(out.success(), "Terraform 1.0 does not ask the provider to plan a destroy\n{out}");
    }
    let out = wd.destroy_output(&[]);
    assert!(!out.success(), "destroy must refuse a split switch\n{out}");
    assert_eq!(only_error(&out).0, "Destroy refused while traffic is split", "{out}");
    assert_eq!(record_view(&zone_id, &name), [("blue".into(), 25, None), ("green".into(), 75, Some(60))], "nothing touched");
    converge(&wd, &switch_tf(&zone_id, &name, "", "", "  traffic = 0\n  on_destroy = \"delete\"\n"), "all blue, delete on destroy");
    assert!(wd.destroy_output(&[]).success());
    assert!(record_view(&zone_id, &name).is_empty());
}

/// Import, then plan: empty whether the configuration spells the defaults out or omits them.
#[test]
fn switch_import_with_defaults_spelled_out_or_omitted_plans_nothing() {
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("edim"));
    let name = format!("api.{zone_name}");
    let omitted = switch_tf(&zone_id, &name, "", "", "  traffic = 20\n");
    let created = Workdir::new("edits-switch-import-src");
    converge(&created, &omitted, "create");

    let spelled = switch_tf(
        &zone_id,
        &name,
        "    set_identifier = \"blue\"\n",
        "    set_identifier = \"green\"\n    ttl            = 60\n",
        "  traffic         = 20\n  type            = \"A\"\n  adopt_existing  = false\n  on_destroy      = \"collapse\"\n  on_gate_failure = \"rollback\"\n  wait_for_sync   = true\n  sync_timeout    = \"10m\"\n",
    )
    .replace("      zone_id = \"", "      evaluate_target_health = true\n      zone_id = \"");
    assert!(spelled.contains("evaluate_target_health = true"), "{spelled}");
    for (what, config, id) in [
        ("defaults omitted, 3-part id", &omitted, format!("{zone_id}/{name}/A")),
        ("defaults spelled out, 3-part id", &spelled, format!("{zone_id}/{name}/A")),
        ("defaults spelled out, 5-part id", &spelled, format!("{zone_id}/{name}/A/blue/green")),
    ] {
        let wd = Workdir::new("edits-switch-import");
        wd.config(config);
        let out = wd.import_output(SW, &id);
        assert!(out.success(), "{what}: import\n{out}");
        assert_no_changes(&wd, what);
        assert_eq!(state(&wd, SW)["type"], "A", "{what}: the import states the record type");
    }
    assert_idle_for_a_month(&created, SW);
}

// ---------------------------------------------------------------------------
// canary_listener
// ---------------------------------------------------------------------------

const CN: &str = "canary_listener.x";

/// `(priority, conditions, forward weights, stickiness seconds)` of a rule.
type RuleView = (String, Vec<String>, Vec<i32>, Option<i32>);

struct Canary {
    s: fixture::LegacyStack,
    green: String,
}

fn canary_env(prefix: &str) -> Canary {
    let s = fixture::legacy_stack(&unique_suffix(prefix));
    let green = fixture::green_target_group(&s, &["i-0feedfacecafe0001".to_string(), "i-0feedfacecafe0002".to_string()]);
    Canary { s, green }
}

impl Canary {
    /// A canary on the stack's listener; `body` is inserted verbatim.
    fn tf(&self, priority: i64, traffic: i64, body: &str) -> String {
        format!(
            r#"resource "canary_listener" "x" {{
  provider               = bluegreen
  listener_arn           = "{}"
  priority               = {priority}
  blue_target_group_arn  = "{}"
  green_target_group_arn = "{}"
  traffic                = {traffic}
{body}}}
"#,
            self.s.listener_arn, self.s.tg_arn, self.green
        )
    }

    /// Each rule but the default one, by priority.
    fn rules(&self) -> Vec<RuleView> {
        let out = block_on(aws().elbv2.describe_rules().listener_arn(&self.s.listener_arn).send())
            .unwrap_or_else(|e| panic!("DescribeRules: {}", DisplayErrorContext(&e)));
        let mut v: Vec<_> = out
            .rules()
            .iter()
            .filter(|r| r.priority() != Some("default"))
            .map(|r| {
                let conditions = r.conditions().iter().map(condition).collect();
                let fc = r.actions().iter().find_map(|a| a.forward_config());
                let weights = fc.map(|f| f.target_groups().iter().map(|t| t.weight().unwrap_or(1)).collect()).unwrap_or_default();
                let sticky = fc
                    .and_then(|f| f.target_group_stickiness_config())
                    .filter(|s| s.enabled() == Some(true))
                    .and_then(|s| s.duration_seconds());
                (r.priority().unwrap_or_default().to_string(), conditions, weights, sticky)
            })
            .collect();
        v.sort_by_key(|r| r.0.parse::<i64>().unwrap_or(i64::MAX));
        v
    }
}

/// A rule condition as `field=value,…` (from the `*Config` or the legacy `Values`, whichever moto filled).
fn condition(c: &elb::RuleCondition) -> String {
    let field = c.field().unwrap_or_default();
    let values: Vec<String> = match field {
        "host-header" => c.host_header_config().map(|h| h.values().to_vec()),
        "path-pattern" => c.path_pattern_config().map(|h| h.values().to_vec()),
        "http-header" => c.http_header_config().map(|h| {
            let mut v = vec![h.http_header_name().unwrap_or_default().to_string()];
            v.extend(h.values().iter().cloned());
            v
        }),
        _ => None,
    }
    .filter(|v| !v.is_empty())
    .unwrap_or_else(|| c.values().to_vec());
    format!("{field}={}", values.join(","))
}

const CANARY_BLOCKS: &str = r#"  match {
    host_header = ["api.example.com"]
  }
  test_route {
    header_name   = "X-Canary"
    header_values = ["1"]
  }
  stickiness {
    duration = "30s"
  }
  rollout {
    steps     = [10]
    bake_time = "1s"
  }
  health_gate {
    min_healthy_targets = 2
  }
  on_gate_failure = "halt"
  on_destroy      = "delete"
"#;

/// Every optional block and attribute of the canary: applied, removed one by one (checked in ELBv2), put back.
#[test]
fn canary_blocks_and_settings_removed_and_restored() {
    let c = canary_env("edcn");
    let wd = Workdir::new("edits-canary");
    converge(&wd, &c.tf(100, 20, CANARY_BLOCKS), "create with every block");
    let host = "host-header=api.example.com".to_string();
    let header = "http-header=X-Canary,1".to_string();
    assert_eq!(
        c.rules(),
        [("99".into(), vec![host.clone(), header.clone()], vec![1], None), ("100".into(), vec![host.clone()], vec![80, 20], Some(30))]
    );

    let mut body = CANARY_BLOCKS.to_string();
    let removals: [(&str, &str); 7] = [
        ("test_route", "  test_route {\n    header_name   = \"X-Canary\"\n    header_values = [\"1\"]\n  }\n"),
        ("stickiness", "  stickiness {\n    duration = \"30s\"\n  }\n"),
        ("rollout", "  rollout {\n    steps     = [10]\n    bake_time = \"1s\"\n  }\n"),
        ("health_gate", "  health_gate {\n    min_healthy_targets = 2\n  }\n"),
        ("on_gate_failure", "  on_gate_failure = \"halt\"\n"),
        ("on_destroy", "  on_destroy      = \"delete\"\n"),
        ("match", "  match {\n    host_header = [\"api.example.com\"]\n  }\n"),
    ];
    for (what, text) in removals {
        assert!(body.contains(text), "{what} in {body}");
        body = body.replace(text, "");
        converge(&wd, &c.tf(100, 20, &body), &format!("{what} removed"));
        let rules = c.rules();
        match what {
            "test_route" => assert_eq!(rules.len(), 1, "the test rule is deleted: {rules:?}"),
            "stickiness" => assert_eq!(rules[0].3, None, "stickiness is off: {rules:?}"),
            "match" => assert_eq!(rules[0].1, ["path-pattern=/*"], "all requests: {rules:?}"),
            _ => assert_eq!(rules[0].2, [80, 20], "{what}: the weights stay: {rules:?}"),
        }
    }
    assert!(body.trim().is_empty(), "{body}");

    converge(&wd, &c.tf(100, 20, CANARY_BLOCKS), "everything put back");
    assert_eq!(c.rules(), [("99".into(), vec![host.clone(), header], vec![1], None), ("100".into(), vec![host], vec![80, 20], Some(30))]);
    assert_idle_for_a_month(&wd, CN);

    // Green has traffic: destroy is refused (by the plan on Terraform ≥ 1.3); at 0 % it goes.
    let out = wd.plan_output(&["-destroy"]);
    if plans_destroys() {
        assert_eq!(only_error(&out).0, "Destroy refused while green has traffic", "{out}");
    } else {
        assert!(out.success(), "{out}");
    }
    let out = wd.destroy_output(&[]);
    assert_eq!(only_error(&out).0, "Destroy refused while green has traffic", "{out}");
    assert_eq!(c.rules().len(), 2, "nothing touched");
    converge(&wd, &c.tf(100, 0, CANARY_BLOCKS), "back to blue");
    assert!(wd.destroy_output(&[]).success());
    assert!(c.rules().is_empty());
}

/// In-place changes of the canary, each checked in ELBv2; then import with defaults spelled out and omitted.
#[test]
fn canary_in_place_changes_and_import() {
    let c = canary_env("edci");
    let wd = Workdir::new("edits-canary-in-place");
    let body = |hosts: &str, values: &str, test_priority: &str, sticky: &str| {
        format!(
            "  match {{\n    host_header = [{hosts}]\n  }}\n  test_route {{\n    header_name   = \"X-Canary\"\n    header_values = [{values}]\n{test_priority}  }}\n{sticky}"
        )
    };
    converge(&wd, &c.tf(100, 10, &body("\"api.example.com\"", "\"1\"", "", "")), "create");
    assert_eq!(c.rules().iter().map(|r| r.0.clone()).collect::<Vec<_>>(), ["99", "100"]);

    converge(&wd, &c.tf(200, 10, &body("\"api.example.com\"", "\"1\"", "", "")), "priority");
    assert_eq!(c.rules().iter().map(|r| r.0.clone()).collect::<Vec<_>>(), ["199", "200"], "the test rule follows (priority - 1)");

    converge(&wd, &c.tf(200, 10, &body("\"api.example.com\"", "\"1\"", "    priority      = 150\n", "")), "test priority");
    assert_eq!(c.rules().iter().map(|r| r.0.clone()).collect::<Vec<_>>(), ["150", "200"]);

    converge(
        &wd,
        &c.tf(200, 10, &body("\"www.example.com\", \"api.example.com\"", "\"1\", \"yes\"", "    priority      = 150\n", "")),
        "match and header values",
    );
    let rules = c.rules();
    assert_eq!(rules[1].1, ["host-header=www.example.com,api.example.com"], "{rules:?}");
    assert!(rules[0].1.contains(&"http-header=X-Canary,1,yes".to_string()), "{rules:?}");

    let sticky = "  stickiness {\n    duration = \"1m\"\n  }\n";
    converge(
        &wd,
        &c.tf(200, 35, &body("\"www.example.com\", \"api.example.com\"", "\"1\", \"yes\"", "    priority      = 150\n", sticky)),
        "traffic and stickiness",
    );
    assert_eq!((c.rules()[1].2.clone(), c.rules()[1].3), (vec![65, 35], Some(60)));

    // The test priority back to its default by deleting it.
    let last = c.tf(200, 35, &body("\"www.example.com\", \"api.example.com\"", "\"1\", \"yes\"", "", sticky));
    converge(&wd, &last, "test priority removed");
    assert_eq!(c.rules().iter().map(|r| r.0.clone()).collect::<Vec<_>>(), ["199", "200"]);

    // Import both ways into fresh directories: no change planned.
    let s = state(&wd, CN);
    let id = format!("{},{}", s["rule_arn"].as_str().expect("rule_arn"), s["test_rule_arn"].as_str().expect("test_rule_arn"));
    let spelled = c.tf(
        200,
        35,
        &format!(
            "{}  on_destroy      = \"delete\"\n  on_gate_failure = \"rollback\"\n",
            body("\"www.example.com\", \"api.example.com\"", "\"1\", \"yes\"", "    priority      = 199\n", sticky)
        ),
    );
    for (what, config) in [("defaults omitted", &last), ("defaults spelled out", &spelled)] {
        let imported = Workdir::new("edits-canary-import");
        imported.config(config);
        let out = imported.import_output(CN, &id);
        assert!(out.success(), "{what}: import\n{out}");
        assert_no_changes(&imported, what);
    }
    converge(&wd, &c.tf(200, 0, &body("\"api.example.com\"", "\"1\"", "", "")), "back to blue");
    assert!(wd.destroy_output(&[]).success());
}
