//! List resources (Terraform ≥ 1.14, `terraform query`): the weighted pairs of a zone that a `bluegreen_switch` can
//! manage, and the weighted forward rules of a listener that a `bluegreen_canary_listener` can manage, each with its
//! resource identity, a display name and (when asked) the resource object, as an import by id would read it.
//! `terraform query -generate-config-out=…` turns them into configuration plus `import` blocks; the configuration
//! comes from [`config_from_state`] (GenerateResourceConfig), which leaves out what the provider computes or
//! defaults, so applying it imports with no change.
//!
//! Finding the candidates is one read (the zone's listing, page by page; the listener's rules); each resource object
//! is read only when the stream reaches it, so a stream Terraform stops at `limit` makes no further call.

use std::collections::BTreeMap;

use bluegreen_core::aws::elbv2::{Condition, Rule};
use bluegreen_core::aws::route53::{RecordSet, RecordType, Routing};
use bluegreen_core::dns::display_name;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::data_sources::patterns;
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::Ctx;
use crate::schema::{self, Block, Nesting, Schema};
use crate::typed::{self, Val};
use crate::value::{Path, Value};

/// `list "bluegreen_switch" "…" { config { … } }`: the weighted pairs of a hosted zone.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SwitchListConfig {
    /// Id of the hosted zone to search.
    #[schemars(regex(pattern = patterns::ZONE_ID), extend("x-pattern-hint" = "be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\""))]
    pub zone_id: Val<String>,
    /// Only names matching this regular expression (RE2-like syntax, matched against the name without the trailing
    /// dot, e.g. `^api\\.`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub name_regex: Val<String>,
    /// Only pairs with one side pointing at this target: an alias DNS name (case, trailing dot and a `dualstack.`
    /// prefix do not matter) or a record value. That side is blue.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub pointing_at: Val<String>,
}

/// `list "bluegreen_canary_listener" "…" { config { … } }`: the weighted forward rules of a listener.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct CanaryListConfig {
    /// ARN of the listener to search.
    #[schemars(regex(pattern = patterns::LISTENER_ARN), extend("x-pattern-hint" = "be a listener ARN"))]
    pub listener_arn: Val<String>,
}

/// The list resource types: each is a managed resource type with an identity.
pub fn schemas() -> Vec<(&'static str, Schema)> {
    vec![("bluegreen_switch", Schema::of::<SwitchListConfig>(0)), ("bluegreen_canary_listener", Schema::of::<CanaryListConfig>(0))]
}

/// One thing found: what Terraform shows and what an import by id reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub identity: Value,
    pub display_name: String,
    pub import_id: String,
}

/// Checks a list block's `config` beyond its schema.
pub fn validate(type_name: &str, schema: &Schema, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    schema::validate(&schema.block, config, &Path::default(), &mut diags);
    if type_name == "bluegreen_switch" && !diags.has_errors() {
        if let Ok(c) = typed::decode::<SwitchListConfig>(config) {
            if let Some(Err(e)) = c.name_regex.known().map(|r| regex::Regex::new(r)) {
                diags.error_at(attr_path(&["name_regex"]), "Invalid regular expression", format!("{e}"));
            }
        }
    }
    diags
}

/// The candidates a list block names, in a stable order. One AWS read.
pub async fn find(ctx: &Ctx, type_name: &str, config: &Value) -> Result<Vec<Found>, Diagnostics> {
    let bug = |e: String| {
        let mut d = Diagnostics::new();
        d.bug(format!("list {type_name}: {e}"));
        d
    };
    match type_name {
        "bluegreen_switch" => {
            let c = typed::decode::<SwitchListConfig>(config).map_err(|e| bug(e.to_string()))?;
            let zone_id = c.zone_id.known().cloned().ok_or_else(|| bug("zone_id is not known".into()))?;
            let re = match c.name_regex.known() {
                Some(r) => Some(regex::Regex::new(r).map_err(|e| {
                    let mut d = Diagnostics::new();
                    d.error_at(attr_path(&["name_regex"]), "Invalid regular expression", format!("{e}"));
                    d
                })?),
                None => None,
            };
            let all = ctx.zones.zone(&zone_id).all_record_sets().await.map_err(|e| {
                let mut d = Diagnostics::new();
                report(&mut d, &e, Some(attr_path(&["zone_id"])), "Listing the zone's weighted pairs");
                d
            })?;
            Ok(switch_pairs(&zone_id, &all, re.as_ref(), c.pointing_at.known().map(String::as_str)))
        }
        "bluegreen_canary_listener" => {
            let c = typed::decode::<CanaryListConfig>(config).map_err(|e| bug(e.to_string()))?;
            let listener = c.listener_arn.known().cloned().ok_or_else(|| bug("listener_arn is not known".into()))?;
            let rules = ctx.clients.elbv2.describe_rules(&listener).await.map_err(|e| {
                let mut d = Diagnostics::new();
                report(&mut d, &bluegreen_core::Error::from(e), Some(attr_path(&["listener_arn"])), "Listing the listener's rules");
                d
            })?;
            Ok(canary_rules(&rules))
        }
        other => Err(bug(format!("no list resource {other:?}"))),
    }
}

/// A DNS name or value as compared: lower case, no trailing dot, no `dualstack.` prefix.
fn comparable(name: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    n.strip_prefix("dualstack.").map(str::to_string).unwrap_or(n)
}

fn points_at(r: &RecordSet, target: &str) -> bool {
    let t = comparable(target);
    match &r.alias {
        Some(a) => comparable(&a.dns_name) == t,
        None => r.records.iter().any(|v| comparable(v) == t),
    }
}

fn percent(green: i64, total: i64) -> String {
    match total {
        0 => "no weight on either side".to_string(),
        t => format!("{} % green", (green * 100 + t / 2) / t),
    }
}

/// Every name and type (A, AAAA, CNAME) of the zone held by exactly two weighted record sets: what a switch manages.
/// Blue is the set named `blue` when the other is `green`; else the one pointing at `pointing_at`; else the first in
/// Route 53's order (the set identifiers' order).
pub fn switch_pairs(zone_id: &str, all: &[RecordSet], name_regex: Option<&regex::Regex>, pointing_at: Option<&str>) -> Vec<Found> {
    let mut groups: BTreeMap<(String, String), Vec<&RecordSet>> = BTreeMap::new();
    let mut order = Vec::new();
    for r in all.iter().filter(|r| matches!(r.record_type, RecordType::A | RecordType::Aaaa | RecordType::Cname)) {
        let key = (r.name.clone(), r.record_type.to_string());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    let mut out = Vec::new();
    for key in order {
        let sets = &groups[&key];
        let [a, b] = sets.as_slice() else { continue };
        let (Routing::Weighted { set_identifier: ida, weight: wa }, Routing::Weighted { set_identifier: idb, weight: wb }) =
            (&a.routing, &b.routing)
        else {
            continue;
        };
        let name = display_name(&key.0);
        if name_regex.is_some_and(|re| !re.is_match(&name)) {
            continue;
        }
        let (a_on, b_on) = pointing_at.map_or((false, false), |t| (points_at(a, t), points_at(b, t)));
        if pointing_at.is_some() && !a_on && !b_on {
            continue;
        }
        let a_is_blue = match (ida.as_str(), idb.as_str()) {
            ("blue", "green") => true,
            ("green", "blue") => false,
            _ if a_on != b_on => a_on,
            _ => true,
        };
        let ((blue_id, blue_w), (green_id, green_w)) = if a_is_blue { ((ida, *wa), (idb, *wb)) } else { ((idb, *wb), (ida, *wa)) };
        let identity = Value::object([
            ("zone_id", Value::string(zone_id)),
            ("name", Value::string(name.clone())),
            ("type", Value::string(key.1.clone())),
            ("blue_set_identifier", Value::string(blue_id.clone())),
            ("green_set_identifier", Value::string(green_id.clone())),
        ]);
        out.push(Found {
            display_name: format!("{name} {} — {}", key.1, percent(i64::from(green_w), i64::from(blue_w) + i64::from(green_w))),
            import_id: format!("{zone_id}/{name}/{}/{blue_id}/{green_id}", key.1),
            identity,
        });
    }
    out
}

fn forwards(r: &Rule) -> Vec<(String, i64)> {
    r.actions
        .iter()
        .filter(|a| a.action_type == "forward")
        .flat_map(|a| a.target_groups.iter().map(|t| (t.arn.clone(), i64::from(t.weight.unwrap_or(1)))))
        .collect()
}

/// Every rule of the listener forwarding to exactly two target groups (blue first, green second), paired with its
/// header test rule where one exists: a rule forwarding to green alone with an `http-header` condition, the closest
/// one before it (`priority − 1` when the provider made it).
pub fn canary_rules(rules: &[Rule]) -> Vec<Found> {
    let mut weighted: Vec<&Rule> = rules.iter().filter(|r| r.priority.is_some() && forwards(r).len() == 2).collect();
    weighted.sort_by_key(|r| r.priority);
    weighted
        .into_iter()
        .map(|r| {
            let tgs = forwards(r);
            let (priority, green) = (r.priority.unwrap_or_default(), &tgs[1].0);
            let test = rules
                .iter()
                .filter(|t| {
                    t.priority.is_some_and(|p| p < priority)
                        && matches!(forwards(t).as_slice(), [(tg, _)] if tg == green)
                        && t.conditions.iter().any(|c| matches!(c, Condition::HttpHeader { .. }))
                })
                .max_by_key(|t| t.priority);
            let scope: Vec<String> = r
                .conditions
                .iter()
                .flat_map(|c| match c {
                    Condition::HostHeader(v) | Condition::PathPattern(v) => v.clone(),
                    _ => Vec::new(),
                })
                .filter(|v| v != "/*")
                .collect();
            let scope = if scope.is_empty() { "every request".to_string() } else { scope.join(" ") };
            let test_note = if test.is_some() { ", with a test route" } else { "" };
            Found {
                identity: Value::object([
                    ("rule_arn", Value::string(r.arn.clone())),
                    ("test_rule_arn", test.map_or(Value::Null, |t| Value::string(t.arn.clone()))),
                ]),
                display_name: format!("priority {priority} ({scope}) — {}{test_note}", percent(tgs[1].1, tgs[0].1 + tgs[1].1)),
                import_id: match test {
                    Some(t) => format!("{},{}", r.arn, t.arn),
                    None => r.arn.clone(),
                },
            }
        })
        .collect()
}

/// GenerateResourceConfig: the configuration that, with an import block, reproduces `state` with no change. What
/// the provider computes (computed-only attributes) and what equals its schema default is left out; everything else
/// is the state's value.
pub fn config_from_state(block: &Block, state: &Value) -> Value {
    let Value::Object(attrs) = state else { return state.clone() };
    let mut out = BTreeMap::new();
    for a in &block.attributes {
        let v = attrs.get(&a.name).cloned().unwrap_or(Value::Null);
        let computed_only = a.computed && !a.optional && !a.required;
        let is_default = a.default.as_ref().and_then(schema::default_value).is_some_and(|d| d == v);
        out.insert(a.name.clone(), if computed_only || is_default { Value::Null } else { v });
    }
    for b in &block.blocks {
        let v = attrs.get(&b.name).cloned().unwrap_or(Value::Null);
        let v = match (b.nesting, v) {
            (Nesting::Single, v) if !v.is_null() => config_from_state(&b.block, &v),
            (Nesting::List, Value::List(items)) => Value::List(items.iter().map(|i| config_from_state(&b.block, i)).collect()),
            (Nesting::Set, Value::Set(items)) => Value::Set(items.iter().map(|i| config_from_state(&b.block, i)).collect()),
            (_, v) => v,
        };
        out.insert(b.name.clone(), v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluegreen_core::aws::elbv2::{Action, WeightedTargetGroup};
    use bluegreen_core::aws::route53::AliasTarget;

    fn set(name: &str, ty: RecordType, id: &str, weight: u8, value: &str) -> RecordSet {
        RecordSet {
            name: name.into(),
            record_type: ty,
            routing: Routing::Weighted { set_identifier: id.into(), weight },
            ttl: Some(60),
            records: vec![value.into()],
            alias: None,
            health_check_id: None,
        }
    }

    #[test]
    fn a_pair_is_two_weighted_sets_of_one_name_and_type_and_blue_is_found_by_name_or_target() {
        let mut alias = set("www.example.com.", RecordType::A, "old", 50, "");
        alias.records.clear();
        alias.ttl = None;
        alias.alias = Some(AliasTarget {
            dns_name: "dualstack.legacy.elb.amazonaws.com.".into(),
            hosted_zone_id: "Z1".into(),
            evaluate_target_health: true,
        });
        let all = vec![
            set("api.example.com.", RecordType::A, "blue", 75, "192.0.2.1"),
            set("api.example.com.", RecordType::A, "green", 25, "192.0.2.2"),
            set("one.example.com.", RecordType::A, "only", 100, "192.0.2.3"),
            set("three.example.com.", RecordType::A, "a", 1, "192.0.2.4"),
            set("three.example.com.", RecordType::A, "b", 1, "192.0.2.5"),
            set("three.example.com.", RecordType::A, "c", 1, "192.0.2.6"),
            set("txt.example.com.", RecordType::Other("TXT".into()), "a", 1, "\"x\""),
            set("txt.example.com.", RecordType::Other("TXT".into()), "b", 1, "\"y\""),
            set("www.example.com.", RecordType::A, "new", 50, "192.0.2.9"),
            alias,
        ];
        let found = switch_pairs("Z1", &all, None, None);
        assert_eq!(
            found.iter().map(|f| f.display_name.as_str()).collect::<Vec<_>>(),
            ["api.example.com A — 25 % green", "www.example.com A — 50 % green"]
        );
        assert_eq!(found[0].import_id, "Z1/api.example.com/A/blue/green");
        // Without blue/green names and without a target, the first set is blue; pointing_at names the legacy side.
        assert_eq!(found[1].import_id, "Z1/www.example.com/A/new/old");
        let legacy = switch_pairs("Z1", &all, None, Some("LEGACY.elb.amazonaws.com"));
        assert_eq!(legacy.len(), 1);
        assert_eq!(legacy[0].import_id, "Z1/www.example.com/A/old/new");
        let re = regex::Regex::new("^api\\.").unwrap();
        assert_eq!(switch_pairs("Z1", &all, Some(&re), None).len(), 1);
    }

    fn rule(arn: &str, priority: i32, conditions: Vec<Condition>, tgs: &[(&str, Option<i32>)]) -> Rule {
        Rule {
            arn: arn.into(),
            priority: Some(priority),
            conditions,
            actions: vec![Action {
                action_type: "forward".into(),
                order: Some(1),
                target_groups: tgs.iter().map(|(a, w)| WeightedTargetGroup { arn: (*a).into(), weight: *w }).collect(),
                stickiness_seconds: None,
            }],
        }
    }

    #[test]
    fn a_canary_rule_forwards_to_two_target_groups_and_pairs_with_its_header_rule() {
        let header = Condition::HttpHeader { name: "X-Canary".into(), values: vec!["1".into()] };
        let rules = vec![
            rule("r100", 100, vec![Condition::HostHeader(vec!["api.example.com".into()])], &[("blue", Some(90)), ("green", Some(10))]),
            rule("t99", 99, vec![Condition::HostHeader(vec!["api.example.com".into()]), header.clone()], &[("green", None)]),
            rule("r200", 200, vec![Condition::PathPattern(vec!["/*".into()])], &[("blue", Some(0)), ("green2", Some(0))]),
            rule("plain", 300, vec![Condition::PathPattern(vec!["/x".into()])], &[("blue", None)]),
        ];
        let found = canary_rules(&rules);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].display_name, "priority 100 (api.example.com) — 10 % green, with a test route");
        assert_eq!(found[0].import_id, "r100,t99");
        assert_eq!(found[1].display_name, "priority 200 (every request) — no weight on either side");
        assert_eq!(found[1].identity.get_attr("test_rule_arn"), Some(&Value::Null));
    }
}
