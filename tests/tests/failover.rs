//! `health_gate.dns_failover` (issue 20, point 5): the Route 53 health checks
//! a switch keeps on green's record so that Route 53 stops answering with
//! green while an alarm is in ALARM, with no apply running. Created, changed
//! (one alarm → several under a CALCULATED parent), removed and re-added by
//! editing the configuration forwards and backwards; repaired after the guard
//! is deleted or detached outside Terraform; deleted at the collapse.
//!
//! LocalStack 4.13.1 stores health checks and the record's `HealthCheckId`,
//! but leaves `AlarmIdentifier` and `InsufficientDataHealthStatus` out of
//! what it returns and never evaluates health (REFERENCE §8,
//! tools/LOCALSTACK_NOTES.md): these tests check what it does return (type,
//! children, threshold, caller reference, the record's id), not that DNS
//! answers change when an alarm fires.
//!
//! `cargo test -p bluegreen-acceptance --test failover`

use aws_sdk_cloudwatch::error::DisplayErrorContext;

use aws_sdk_route53::types as r53;
use bluegreen_acceptance::{aws, block_on, fixture, unique_suffix, Workdir};
use serde_json::{json, Value};

const X: &str = "bluegreen_switch.x";

/// A metric alarm on `Failover/<name>` `Errors` (no data: INSUFFICIENT_DATA, which the gate passes).
fn create_alarm(name: &str) {
    fixture::errors_alarm(name, &format!("Failover/{name}"));
}

fn config(zone_id: &str, name: &str, traffic: i64, gate: &str) -> String {
    format!(
        r#"resource "bluegreen_switch" "x" {{
  zone_id = "{zone_id}"
  name    = "{name}"
  blue {{
    records = ["192.0.2.10"]
  }}
  green {{
    records = ["192.0.2.20"]
  }}
  traffic = {traffic}
{gate}}}
"#
    )
}

fn gate(alarms: &[&str], failover: bool) -> String {
    let alarms = alarms.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ");
    let failover = if failover { "    dns_failover      = true\n" } else { "" };
    format!("  health_gate {{\n    cloudwatch_alarms = [{alarms}]\n{failover}  }}\n")
}

/// The switch's `green_health_check_id` in the state (null when none).
fn state_id(wd: &Workdir) -> Option<String> {
    let s = wd.state_resource(X).unwrap_or_else(|| panic!("{X} is not in the state"));
    s["green_health_check_id"].as_str().map(str::to_string)
}

/// The record sets of `name`, as Route 53 returns them.
fn records(zone_id: &str, name: &str) -> Vec<r53::ResourceRecordSet> {
    block_on(fixture::raw_record_sets(zone_id, name)).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The `HealthCheckId` of the weighted set `set_identifier` (panics when the set is missing).
fn record_check(zone_id: &str, name: &str, set_identifier: &str) -> Option<String> {
    let all = records(zone_id, name);
    let r = all.iter().find(|r| r.set_identifier() == Some(set_identifier)).unwrap_or_else(|| panic!("no set {set_identifier}: {all:?}"));
    r.health_check_id().map(str::to_string)
}

/// The health check as ListHealthChecks shows it (LocalStack's GetHealthCheck leaves the children out), or `None`
/// when Route 53 has no such check — which GetHealthCheck confirms (`NoSuchHealthCheck`).
fn health_check(id: &str) -> Option<r53::HealthCheck> {
    let out = block_on(aws().route53.list_health_checks().max_items(1000).send()).expect("ListHealthChecks");
    assert!(!out.is_truncated(), "more than 1000 health checks in LocalStack");
    let listed = out.health_checks().iter().find(|h| h.id() == id).cloned();
    let got = match block_on(aws().route53.get_health_check().health_check_id(id).send()) {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_health_check()) => false,
        Err(e) => panic!("GetHealthCheck {id}: {}", DisplayErrorContext(&e)),
    };
    assert_eq!(listed.is_some(), got, "ListHealthChecks and GetHealthCheck disagree on {id}");
    listed
}

/// The guard under `id`: its type, and its children (for a CALCULATED one), each checked to exist and to be a
/// CLOUDWATCH_METRIC check this provider created.
#[track_caller]
fn assert_guard(id: &str, alarms: usize) -> Vec<String> {
    let top = health_check(id).unwrap_or_else(|| panic!("health check {id} does not exist"));
    assert!(top.caller_reference().starts_with("bluegreen-"), "{top:?}");
    let c = top.health_check_config().unwrap();
    if alarms == 1 {
        assert_eq!(c.r#type(), &r53::HealthCheckType::CloudwatchMetric, "{top:?}");
        return vec![id.to_string()];
    }
    assert_eq!(c.r#type(), &r53::HealthCheckType::Calculated, "{top:?}");
    assert_eq!(c.health_threshold(), Some(alarms as i32), "all children must be healthy: {top:?}");
    let children = c.child_health_checks().to_vec();
    assert_eq!(children.len(), alarms, "{top:?}");
    for child in &children {
        let h = health_check(child).unwrap_or_else(|| panic!("child {child} does not exist"));
        assert_eq!(h.health_check_config().unwrap().r#type(), &r53::HealthCheckType::CloudwatchMetric, "{h:?}");
        assert!(h.caller_reference().starts_with("bluegreen-"), "{h:?}");
    }
    let mut refs: Vec<String> = children.iter().map(|c| health_check(c).unwrap().caller_reference().to_string()).collect();
    refs.push(top.caller_reference().to_string());
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), alarms + 1, "a caller reference per creation");
    [vec![id.to_string()], children].concat()
}

/// Green's record carries the state's health check, blue's none; the guard is what the configuration says.
#[track_caller]
fn assert_guarded(wd: &Workdir, zone_id: &str, name: &str, alarms: usize) -> Vec<String> {
    let id = state_id(wd).expect("green_health_check_id in the state");
    assert_eq!(record_check(zone_id, name, "green").as_deref(), Some(id.as_str()), "green's record carries the guard");
    assert_eq!(record_check(zone_id, name, "blue"), None, "blue's record carries none");
    assert_guard(&id, alarms)
}

#[track_caller]
fn assert_gone(ids: &[String]) {
    for id in ids {
        assert!(health_check(id).is_none(), "health check {id} still exists");
    }
}

/// The record set and its health check, as `aws route53 list-resource-record-sets` / `get-health-check` show them.
fn show(zone_id: &str, name: &str, id: &str) -> Value {
    let green: Vec<Value> = records(zone_id, name)
        .iter()
        .filter(|r| r.set_identifier() == Some("green"))
        .map(|r| {
            json!({
                "Name": r.name(), "Type": r.r#type().as_str(), "SetIdentifier": r.set_identifier(), "Weight": r.weight(),
                "TTL": r.ttl(), "ResourceRecords": r.resource_records().iter().map(|v| json!({"Value": v.value()})).collect::<Vec<_>>(),
                "HealthCheckId": r.health_check_id(),
            })
        })
        .collect();
    let h = health_check(id).unwrap();
    let c = h.health_check_config().unwrap();
    json!({
        "ResourceRecordSets": green,
        "HealthCheck": {"Id": h.id(), "CallerReference": h.caller_reference(), "HealthCheckConfig": {
            "Type": c.r#type().as_str(), "ChildHealthChecks": c.child_health_checks(), "HealthThreshold": c.health_threshold(),
            "AlarmIdentifier": c.alarm_identifier().map(|a| json!({"Region": a.region().as_str(), "Name": a.name()})),
            "InsufficientDataHealthStatus": c.insufficient_data_health_status().map(|s| s.as_str()),
        }},
    })
}

#[test]
fn dns_failover_is_created_changed_removed_readded_repaired_and_collapsed() {
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("fo"));
    let name = format!("api.{zone_name}");
    let (a, b) = (format!("fo-5xx-{}", unique_suffix("a")), format!("fo-latency-{}", unique_suffix("b")));
    create_alarm(&a);
    create_alarm(&b);
    let wd = Workdir::new("failover-lifecycle");

    // One alarm: one CLOUDWATCH_METRIC check on green's record.
    wd.config(&config(&zone_id, &name, 30, &gate(&[&a], true)));
    wd.apply(&[]);
    let one = assert_guarded(&wd, &zone_id, &name, 1);
    wd.assert_no_changes();

    // Two alarms: a new guard under a CALCULATED parent; the old check is deleted after the record moved.
    wd.config(&config(&zone_id, &name, 30, &gate(&[&a, &b], true)));
    wd.apply(&[]);
    let two = assert_guarded(&wd, &zone_id, &name, 2);
    assert_ne!(one, two);
    assert_gone(&one);
    println!("{:#}", show(&zone_id, &name, &two[0]));
    wd.assert_no_changes();

    // Removed (the gate stays): detached from the record, then deleted.
    wd.config(&config(&zone_id, &name, 30, &gate(&[&a, &b], false)));
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "{plan}");
    wd.apply(&[]);
    assert_eq!(state_id(&wd), None);
    assert_eq!(record_check(&zone_id, &name, "green"), None);
    assert_gone(&two);
    wd.assert_no_changes();

    // Re-added (the edit backwards).
    wd.config(&config(&zone_id, &name, 30, &gate(&[&a, &b], true)));
    wd.apply(&[]);
    let again = assert_guarded(&wd, &zone_id, &name, 2);
    wd.assert_no_changes();

    // One of its checks deleted outside Terraform: refresh finds the guard broken, the plan shows the repair, apply
    // builds a new one and deletes what is left of the old one.
    block_on(aws().route53.delete_health_check().health_check_id(&again[1]).send()).expect("DeleteHealthCheck");
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "the broken guard shows in the plan\n{plan}");
    assert!(plan.stdout.contains("green_health_check_id"), "{plan}");
    wd.apply(&[]);
    let rebuilt = assert_guarded(&wd, &zone_id, &name, 2);
    assert_ne!(rebuilt[0], again[0]);
    assert_gone(&again);
    wd.assert_no_changes();

    // The check on the record deleted outside Terraform: the same repair. (Its children are left: nothing says
    // which guard they were part of once their parent is gone; the test deletes them.)
    block_on(aws().route53.delete_health_check().health_check_id(&rebuilt[0]).send()).expect("DeleteHealthCheck");
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "the deleted guard shows in the plan\n{plan}");
    assert!(plan.stdout.contains("green_health_check_id"), "{plan}");
    wd.apply(&[]);
    let repaired = assert_guarded(&wd, &zone_id, &name, 2);
    assert_gone(&rebuilt[..1]);
    for orphan in &rebuilt[1..] {
        block_on(aws().route53.delete_health_check().health_check_id(orphan).send()).expect("DeleteHealthCheck");
    }
    wd.assert_no_changes();

    // Detached outside Terraform (green's record written again without it): the same.
    let green = records(&zone_id, &name).into_iter().find(|r| r.set_identifier() == Some("green")).unwrap();
    let bare = r53::ResourceRecordSet::builder()
        .name(green.name())
        .r#type(green.r#type().clone())
        .set_identifier("green")
        .weight(green.weight().unwrap())
        .ttl(green.ttl().unwrap())
        .set_resource_records(Some(green.resource_records().to_vec()))
        .build()
        .unwrap();
    fixture::change_record_sets(&zone_id, vec![(r53::ChangeAction::Upsert, bare)]);
    assert_eq!(record_check(&zone_id, &name, "green"), None);
    let plan = wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "the detached guard shows in the plan\n{plan}");
    wd.apply(&[]);
    let reattached = assert_guarded(&wd, &zone_id, &name, 2);
    assert_gone(&repaired);
    wd.assert_no_changes();

    // All green, then destroy: the pair collapses to one simple record and the guard is deleted after it.
    wd.config(&config(&zone_id, &name, 100, &gate(&[&a, &b], true)));
    wd.apply(&[]);
    assert_eq!(state_id(&wd), Some(reattached[0].clone()), "a shift keeps the guard");
    assert_guarded(&wd, &zone_id, &name, 2);
    wd.destroy_output(&[]).assert_success();
    let left = records(&zone_id, &name);
    assert!(
        left.len() == 1 && left[0].set_identifier().is_none() && left[0].health_check_id().is_none(),
        "one simple record without a health check: {left:?}"
    );
    assert_gone(&reattached);
}

#[test]
fn dns_failover_without_alarms_or_on_a_canary_is_refused_at_validate() {
    let wd = Workdir::new("failover-validate");
    wd.config(&config("Z0123456789ABCDEFGHIJ", "api.example.com", 0, "  health_gate {\n    dns_failover = true\n  }\n"));
    let out = wd.validate_output();
    assert!(!out.success(), "{out}");
    let text = bluegreen_acceptance::collapse_ws(&out.stderr);
    assert!(text.contains("dns_failover needs cloudwatch_alarms") && text.contains("health_gate.cloudwatch_alarms"), "{out}");

    wd.config(
        r#"resource "canary_listener" "x" {
  provider               = bluegreen
  listener_arn           = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/legacy/0123456789abcdef/0123456789abcdef"
  blue_target_group_arn  = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef"
  green_target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green/0123456789abcdef"
  priority               = 100
  match {
    host_header = ["api.example.com"]
  }
  traffic = 0
  health_gate {
    cloudwatch_alarms = ["green-5xx"]
    dns_failover      = true
  }
}
"#,
    );
    let out = wd.validate_output();
    assert!(!out.success(), "{out}");
    let text = bluegreen_acceptance::collapse_ws(&out.stderr);
    assert!(text.contains("dns_failover is not available on canary_listener"), "{out}");
    assert!(text.contains("no equivalent without running code") && text.contains("docs/guides/scheduled-rollout.md"), "{out}");
}
