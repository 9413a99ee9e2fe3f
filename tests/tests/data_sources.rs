//! All five data sources against a legacy stack created with the AWS SDK:
//! what terraform reports must be what AWS (LocalStack) holds.

use bluegreen_acceptance::{fixture, unique_suffix, Workdir};
use serde_json::{json, Value};

fn config(s: &fixture::LegacyStack) -> String {
    let blue = &s.weighted[0];
    // Case and a trailing dot must not matter.
    let alias_upper = format!("{}.", s.alias_record_name.to_uppercase());
    format!(
        r#"
data "bluegreen_hosted_zone" "by_name" {{
  name = "{zone_name}."
}}

data "bluegreen_hosted_zone" "by_id" {{
  zone_id = "/hostedzone/{zone_id}"
}}

data "bluegreen_load_balancer" "by_name" {{
  name = "{lb_name}"
}}

data "bluegreen_load_balancer" "by_arn" {{
  arn = "{lb_arn}"
}}

data "bluegreen_listener" "by_arn" {{
  arn = "{listener_arn}"
}}

data "bluegreen_listener" "by_port" {{
  load_balancer_arn = data.bluegreen_load_balancer.by_name.arn
  port              = {listener_port}
}}

data "bluegreen_target_group" "live" {{
  name = "{tg_name}"
}}

data "bluegreen_target_group" "empty" {{
  arn = "{empty_tg_arn}"
}}

data "bluegreen_record" "alias" {{
  zone_id = data.bluegreen_hosted_zone.by_name.zone_id
  name    = "{alias_upper}"
  type    = "A"
}}

data "bluegreen_record" "blue" {{
  zone_id        = data.bluegreen_hosted_zone.by_id.zone_id
  name           = "{weighted_name}."
  type           = "A"
  set_identifier = "{blue_id}"
}}

output "zone_by_name" {{ value = data.bluegreen_hosted_zone.by_name }}
output "zone_by_id" {{ value = data.bluegreen_hosted_zone.by_id }}
output "lb_by_name" {{ value = data.bluegreen_load_balancer.by_name }}
output "lb_by_arn" {{ value = data.bluegreen_load_balancer.by_arn }}
output "listener_by_arn" {{ value = data.bluegreen_listener.by_arn }}
output "listener_by_port" {{ value = data.bluegreen_listener.by_port }}
output "tg_live" {{ value = data.bluegreen_target_group.live }}
output "tg_empty" {{ value = data.bluegreen_target_group.empty }}
output "record_alias" {{ value = data.bluegreen_record.alias }}
output "record_blue" {{ value = data.bluegreen_record.blue }}
"#,
        zone_name = s.zone_name,
        zone_id = s.zone_id,
        lb_name = s.lb_name,
        lb_arn = s.lb_arn,
        listener_arn = s.listener_arn,
        listener_port = s.listener_port,
        tg_name = s.tg_name,
        empty_tg_arn = s.empty_tg_arn,
        weighted_name = s.weighted_name,
        blue_id = blue.set_identifier,
    )
}

/// Asserts `actual[key] == expected` for each pair, reporting every mismatch at once.
#[track_caller]
fn assert_fields(what: &str, actual: &Value, expected: &[(&str, Value)]) {
    let mismatches: Vec<String> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(v))
        .map(|(k, v)| format!("  {what}.{k}: expected {v}, got {}", actual.get(*k).map_or("(missing)".to_string(), Value::to_string)))
        .collect();
    assert!(mismatches.is_empty(), "{what} differs from what AWS holds:\n{}\nwhole value: {actual:#}", mismatches.join("\n"));
}

#[test]
fn every_data_source_reports_what_aws_holds() {
    let stack = fixture::legacy_stack(&unique_suffix("ds"));
    let wd = Workdir::new("data-sources");
    wd.config(&config(&stack));
    wd.apply(&[]);
    let out = wd.output_json();
    let value = |name: &str| out.get(name).map(|o| o["value"].clone()).unwrap_or_else(|| panic!("no output {name}: {out:#}"));

    // Hosted zone: by name (trailing dot accepted, reported without it) and by a /hostedzone/-prefixed id.
    let zone = [
        ("zone_id", json!(stack.zone_id)),
        ("id", json!(stack.zone_id)),
        ("name", json!(stack.zone_name)),
        ("private_zone", Value::Null),
        // NS + SOA + api (alias) + 2 weighted sets.
        ("record_count", json!(stack.zone_record_count)),
    ];
    assert_eq!(stack.zone_record_count, 5, "LocalStack counts the zone's record sets differently than expected");
    // A configured selector is echoed as written (here with its trailing dot);
    // the other one is filled in from AWS.
    let mut by_name = zone.clone();
    by_name[2] = ("name", json!(format!("{}.", stack.zone_name)));
    assert_fields("zone_by_name", &value("zone_by_name"), &by_name);
    let mut by_id = zone.clone();
    by_id[0] = ("zone_id", json!(format!("/hostedzone/{}", stack.zone_id)));
    assert_fields("zone_by_id", &value("zone_by_id"), &by_id);

    // Load balancer: by name and by ARN report the same.
    let lb = [
        ("name", json!(stack.lb_name)),
        ("arn", json!(stack.lb_arn)),
        ("id", json!(stack.lb_arn)),
        ("dns_name", json!(stack.lb_dns_name)),
        ("zone_id", json!(stack.lb_zone_id)),
        ("vpc_id", json!(stack.vpc_id)),
        ("scheme", json!("internet-facing")),
        ("listener_arns", json!([stack.listener_arn])),
    ];
    assert_eq!(stack.lb_scheme, "internet-facing");
    assert_fields("lb_by_name", &value("lb_by_name"), &lb);
    assert_fields("lb_by_arn", &value("lb_by_arn"), &lb);

    // Listener: by ARN and by load balancer + port.
    let listener = [
        ("arn", json!(stack.listener_arn)),
        ("id", json!(stack.listener_arn)),
        ("load_balancer_arn", json!(stack.lb_arn)),
        ("port", json!(stack.listener_port)),
        ("protocol", json!("HTTP")),
        ("default_target_group_arns", json!([stack.tg_arn])),
    ];
    assert_fields("listener_by_arn", &value("listener_by_arn"), &listener);
    assert_fields("listener_by_port", &value("listener_by_port"), &listener);

    // Target groups: the live one (2 healthy targets) by name, the empty one by ARN.
    assert_fields(
        "tg_live",
        &value("tg_live"),
        &[
            ("name", json!(stack.tg_name)),
            ("arn", json!(stack.tg_arn)),
            ("id", json!(stack.tg_arn)),
            ("port", json!(stack.tg_port)),
            ("protocol", json!("HTTP")),
            ("target_type", json!("instance")),
            ("healthy_count", json!(2)),
            ("unhealthy_count", json!(0)),
            ("total_count", json!(2)),
            ("state_counts", json!({ "healthy": 2 })),
        ],
    );
    assert_eq!(stack.target_ids.len(), 2);
    assert_fields(
        "tg_empty",
        &value("tg_empty"),
        &[
            ("name", json!(stack.empty_tg_name)),
            ("arn", json!(stack.empty_tg_arn)),
            ("port", json!(stack.tg_port)),
            ("healthy_count", json!(0)),
            ("unhealthy_count", json!(0)),
            ("total_count", json!(0)),
            ("state_counts", json!({})),
        ],
    );

    // The simple alias record (looked up in upper case with a trailing dot).
    assert_fields(
        "record_alias",
        &value("record_alias"),
        &[
            ("zone_id", json!(stack.zone_id)),
            ("type", json!("A")),
            ("set_identifier", Value::Null),
            ("routing_policy", json!("simple")),
            ("weight", Value::Null),
            ("ttl", Value::Null),
            ("records", json!([])),
            ("alias", json!([{ "name": stack.lb_dns_name, "zone_id": stack.lb_zone_id, "evaluate_target_health": true }])),
            ("id", json!(format!("{}/{}/A", stack.zone_id, stack.alias_record_name))),
        ],
    );

    // One set of the weighted pair, picked by set_identifier: a plain (non-alias) record.
    let blue = &stack.weighted[0];
    assert_fields(
        "record_blue",
        &value("record_blue"),
        &[
            ("set_identifier", json!(blue.set_identifier)),
            ("routing_policy", json!("weighted")),
            ("weight", json!(blue.weight)),
            ("ttl", json!(blue.ttl)),
            ("records", json!(blue.records)),
            ("alias", json!([])),
            ("id", json!(format!("{}/{}/A/{}", stack.zone_id, stack.weighted_name, blue.set_identifier))),
        ],
    );

    // The state holds the ten data sources and nothing else.
    let state = wd.show_json();
    let resources = state["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_default();
    let mut addresses: Vec<&str> = resources.iter().filter_map(|r| r["address"].as_str()).collect();
    addresses.sort_unstable();
    assert_eq!(
        addresses,
        [
            "data.bluegreen_hosted_zone.by_id",
            "data.bluegreen_hosted_zone.by_name",
            "data.bluegreen_listener.by_arn",
            "data.bluegreen_listener.by_port",
            "data.bluegreen_load_balancer.by_arn",
            "data.bluegreen_load_balancer.by_name",
            "data.bluegreen_record.alias",
            "data.bluegreen_record.blue",
            "data.bluegreen_target_group.empty",
            "data.bluegreen_target_group.live",
        ]
    );
    assert!(resources.iter().all(|r| r["mode"] == "data"), "{state:#}");

    // Reading again changes nothing: the plan is empty (exit code 0, not 2).
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a second plan shows changes\n{plan}");
    assert!(plan.stdout.contains("No changes."), "{plan}");
}

/// The second weighted set, and a record's values in Route 53's order.
#[test]
fn weighted_record_with_several_values() {
    let stack = fixture::legacy_stack(&unique_suffix("dw"));
    let green = &stack.weighted[1];
    let wd = Workdir::new("weighted");
    wd.config(&format!(
        r#"
data "bluegreen_record" "green" {{
  zone_id        = "{zone_id}"
  name           = "{name}"
  type           = "A"
  set_identifier = "{set_id}"
}}

output "green" {{ value = data.bluegreen_record.green }}
"#,
        zone_id = stack.zone_id,
        name = stack.weighted_name,
        set_id = green.set_identifier,
    ));
    wd.apply(&[]);
    assert_fields(
        "green",
        &wd.output("green"),
        &[
            ("name", json!(stack.weighted_name)),
            ("routing_policy", json!("weighted")),
            ("weight", json!(green.weight)),
            ("ttl", json!(green.ttl)),
            ("records", json!(green.records)),
            ("alias", json!([])),
        ],
    );
}
