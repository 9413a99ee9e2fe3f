//! The schema terraform sees (`terraform providers schema -json`): exactly
//! the five data sources and the resources, and documentation for every
//! attribute and block.

use bluegreen_acceptance::{Workdir, PROVIDER_ADDRESS};
use serde_json::Value;

const RESOURCES: [&str; 3] = ["bluegreen_canary_listener", "bluegreen_switch", "canary_listener"];

const DATA_SOURCES: [&str; 6] = [
    "bluegreen_hosted_zone",
    "bluegreen_listener",
    "bluegreen_load_balancer",
    "bluegreen_record",
    "bluegreen_records",
    "bluegreen_target_group",
];

/// Every attribute and nested block under `block` lacking a description,
/// as `path` strings.
fn undocumented(path: &str, block: &Value, missing: &mut Vec<String>) {
    let described = |v: &Value| v["description"].as_str().is_some_and(|d| !d.trim().is_empty());
    if !described(block) {
        missing.push(format!("{path} (block)"));
    }
    for (name, attr) in block["attributes"].as_object().into_iter().flatten() {
        if !described(attr) {
            missing.push(format!("{path}.{name}"));
        }
        if attr["description_kind"] != "markdown" {
            missing.push(format!("{path}.{name} (description_kind {} instead of markdown)", attr["description_kind"]));
        }
        // Nested attributes (protocol 6 `nested_type`), should any appear.
        if let Some(nested) = attr.get("nested_type") {
            for (inner, a) in nested["attributes"].as_object().into_iter().flatten() {
                if !described(a) {
                    missing.push(format!("{path}.{name}.{inner}"));
                }
            }
        }
    }
    for (name, nested) in block["block_types"].as_object().into_iter().flatten() {
        undocumented(&format!("{path}.{name}"), &nested["block"], missing);
    }
}

fn schema() -> Value {
    let wd = Workdir::new("schema");
    let all = wd.providers_schema_json();
    let ours = all["provider_schemas"][PROVIDER_ADDRESS].clone();
    assert!(ours.is_object(), "no schema for {PROVIDER_ADDRESS}: {all:#}");
    ours
}

#[test]
fn exactly_the_data_sources_and_resources_and_every_attribute_documented() {
    let s = schema();
    let mut names: Vec<&str> = s["data_source_schemas"].as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    names.sort_unstable();
    assert_eq!(names, DATA_SOURCES);
    let mut resources: Vec<&str> = s["resource_schemas"].as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    resources.sort_unstable();
    assert_eq!(resources, RESOURCES);

    let mut missing = Vec::new();
    undocumented("provider", &s["provider"]["block"], &mut missing);
    for ds in DATA_SOURCES {
        undocumented(ds, &s["data_source_schemas"][ds]["block"], &mut missing);
    }
    for r in RESOURCES {
        undocumented(r, &s["resource_schemas"][r]["block"], &mut missing);
    }
    assert!(missing.is_empty(), "without a description:\n  {}", missing.join("\n  "));
}

/// The attribute modes the models define: selectors optional + computed,
/// the record's identity required, results computed only, credentials sensitive.
#[test]
fn attribute_modes() {
    let s = schema();
    let attr = |ds: &str, name: &str| -> Value {
        let block = if ds == "provider" { &s["provider"]["block"] } else { &s["data_source_schemas"][ds]["block"] };
        block["attributes"][name].clone()
    };
    let mode = |a: &Value| {
        let flag = |k: &str| a[k].as_bool().unwrap_or(false);
        (flag("required"), flag("optional"), flag("computed"))
    };
    const SELECTOR: (bool, bool, bool) = (false, true, true);
    const REQUIRED: (bool, bool, bool) = (true, false, false);
    const RESULT: (bool, bool, bool) = (false, false, true);
    const OPTIONAL: (bool, bool, bool) = (false, true, false);
    let expected = [
        ("bluegreen_hosted_zone", "zone_id", SELECTOR),
        ("bluegreen_hosted_zone", "name", SELECTOR),
        ("bluegreen_hosted_zone", "private_zone", OPTIONAL),
        ("bluegreen_hosted_zone", "record_count", RESULT),
        ("bluegreen_load_balancer", "name", SELECTOR),
        ("bluegreen_load_balancer", "arn", SELECTOR),
        ("bluegreen_load_balancer", "dns_name", RESULT),
        ("bluegreen_listener", "arn", SELECTOR),
        ("bluegreen_listener", "load_balancer_arn", SELECTOR),
        ("bluegreen_listener", "port", SELECTOR),
        ("bluegreen_listener", "default_target_group_arns", RESULT),
        ("bluegreen_target_group", "name", SELECTOR),
        ("bluegreen_target_group", "healthy_count", RESULT),
        ("bluegreen_target_group", "state_counts", RESULT),
        ("bluegreen_record", "zone_id", REQUIRED),
        ("bluegreen_record", "name", REQUIRED),
        ("bluegreen_record", "type", REQUIRED),
        ("bluegreen_record", "set_identifier", OPTIONAL),
        ("bluegreen_record", "alias", RESULT),
        ("provider", "region", OPTIONAL),
        ("provider", "access_key", OPTIONAL),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(ds, name, m)| mode(&attr(ds, name)) != *m)
        .map(|(ds, name, m)| format!("{ds}.{name}: want (required, optional, computed) = {m:?}, got {:?}", mode(&attr(ds, name))))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    for secret in ["access_key", "secret_key"] {
        assert_eq!(attr("provider", secret)["sensitive"], true, "provider.{secret} must be sensitive");
    }
    // Shared secrets in nested blocks: the role's external id, and the test route's header (it opens green).
    let nested = |block: &Value, path: &[&str], name: &str| -> Value {
        let b = path.iter().fold(block.clone(), |b, p| b["block_types"][*p]["block"].clone());
        b["attributes"][name].clone()
    };
    assert_eq!(nested(&s["provider"]["block"], &["assume_role"], "external_id")["sensitive"], true, "assume_role.external_id");
    assert_eq!(
        nested(&s["resource_schemas"]["bluegreen_canary_listener"]["block"], &["test_route"], "header_values")["sensitive"],
        true,
        "test_route.header_values"
    );
    // The older name is the same resource: the same schema.
    assert_eq!(s["resource_schemas"]["canary_listener"], s["resource_schemas"]["bluegreen_canary_listener"]);
}
