//! The IAM actions behind the operations this layer calls, so an AccessDenied
//! can name the action to grant (`route53:ChangeResourceRecordSets`), and the
//! tests below can hold the list against the SDK calls in this directory and
//! against the policy in the IAM guide.

/// Route 53 operations called by [`super::route53`].
pub const ROUTE53: &[&str] = &[
    "GetHostedZone",
    "ListHostedZonesByName",
    "ListResourceRecordSets",
    "ChangeResourceRecordSets",
    "GetChange",
    "CreateHealthCheck",
    "ListHealthChecks",
    "DeleteHealthCheck",
];

/// ELBv2 operations called by [`super::elbv2`].
pub const ELBV2: &[&str] = &[
    "DescribeLoadBalancers",
    "DescribeListeners",
    "DescribeTargetGroups",
    "DescribeTargetHealth",
    "DescribeRules",
    "CreateRule",
    "ModifyRule",
    "SetRulePriorities",
    "DeleteRule",
    "ModifyListener",
    "AddTags",
];

/// CloudWatch operations called by [`super::cloudwatch`].
pub const CLOUDWATCH: &[&str] = &["DescribeAlarmHistory", "DescribeAlarms", "GetMetricData"];

/// STS operations called by [`super::connect`] (allowed to every principal).
pub const STS: &[&str] = &["GetCallerIdentity"];

/// The IAM service prefix of each operation list.
const SERVICES: &[(&str, &[&str])] = &[("route53", ROUTE53), ("elasticloadbalancing", ELBV2), ("cloudwatch", CLOUDWATCH), ("sts", STS)];

/// The IAM action a policy must allow for `operation`, e.g.
/// `route53:ChangeResourceRecordSets`; `None` for an operation this layer does not call.
pub fn action(operation: &str) -> Option<String> {
    SERVICES.iter().find(|(_, ops)| ops.contains(&operation)).map(|(service, _)| format!("{service}:{operation}"))
}

/// Every action this layer can need, `service:Operation`, sorted.
pub fn all_actions() -> Vec<String> {
    let mut all: Vec<String> = SERVICES.iter().flat_map(|(s, ops)| ops.iter().map(move |op| format!("{s}:{op}"))).collect();
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The operations a source file calls on an SDK client (`client.describe_rules()`,
    /// `sts.get_caller_identity()`), in the API's PascalCase, read from the file itself.
    fn sdk_calls(source: &str, receiver: &str) -> BTreeSet<String> {
        // The provider's calls, not a test module's (which sits at the end of its file).
        let source = source.split("#[cfg(test)]").next().unwrap_or_default();
        let code: String = source.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let needle = format!("{receiver}.");
        let mut ops = BTreeSet::new();
        for (at, _) in squeezed.match_indices(&needle) {
            // The receiver itself (`client.…`, `self.client.…`), not a field of that name elsewhere (`endpoints.sts.is_some()`).
            let before = &squeezed[..at];
            let field_of_self = before.ends_with("self.");
            if !field_of_self && before.chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let rest = &squeezed[at + needle.len()..];
            let ident: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            // `sts.build()` builds a config, it calls nothing.
            if ident.is_empty() || ident == "build" || !rest[ident.len()..].starts_with("()") {
                continue;
            }
            let pascal: String = ident
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                })
                .collect();
            ops.insert(pascal);
        }
        ops
    }

    fn set(ops: &[&str]) -> BTreeSet<String> {
        ops.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_lists_are_the_sdk_calls_made_in_this_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/aws/");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(sdk_calls(&read("route53.rs"), "client"), set(ROUTE53), "route53.rs");
        assert_eq!(sdk_calls(&read("elbv2.rs"), "client"), set(ELBV2), "elbv2.rs");
        assert_eq!(sdk_calls(&read("cloudwatch.rs"), "client"), set(CLOUDWATCH), "cloudwatch.rs");
        assert_eq!(sdk_calls(&read("mod.rs"), "sts"), set(STS), "mod.rs");
        // No other file here holds an SDK client.
        for f in ["paced.rs", "retry.rs", "sdk_error.rs"] {
            assert!(sdk_calls(&read(f), "client").is_empty(), "{f} calls AWS");
        }
    }

    /// The actions in the JSON policy of docs/guides/iam-policy.md.
    pub(crate) fn guide_policy_actions() -> BTreeSet<String> {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/guides/iam-policy.md")).expect("the IAM guide");
        let json = guide.split("```json").nth(1).and_then(|rest| rest.split("```").next()).expect("a ```json policy block in the guide");
        let policy: serde_json::Value = serde_json::from_str(json).expect("the guide's policy is JSON");
        let mut actions = BTreeSet::new();
        for statement in policy["Statement"].as_array().expect("Statement list") {
            match &statement["Action"] {
                serde_json::Value::String(a) => {
                    actions.insert(a.clone());
                }
                serde_json::Value::Array(list) => actions.extend(list.iter().map(|a| a.as_str().expect("action string").to_string())),
                other => panic!("statement without actions: {other}"),
            }
        }
        actions
    }

    #[test]
    fn the_guide_s_policy_allows_exactly_the_actions_called() {
        let granted = guide_policy_actions();
        // sts:GetCallerIdentity needs no statement: AWS allows it to every principal.
        let needed: BTreeSet<String> = all_actions().into_iter().filter(|a| a != "sts:GetCallerIdentity").collect();
        let missing: Vec<_> = needed.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&needed).collect();
        assert!(missing.is_empty() && extra.is_empty(), "policy misses {missing:?}, grants unused {extra:?}");
    }

    #[test]
    fn the_guide_s_table_lists_every_action_with_its_step() {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/guides/iam-policy.md")).expect("the IAM guide");
        assert!(guide.contains("| Action | Resource in the policy | Needed at | Made by |"), "the table's columns changed");
        for a in all_actions() {
            let row = guide.lines().find(|l| l.starts_with(&format!("| `{a}` |"))).unwrap_or_else(|| panic!("no table row for {a}"));
            // | Action | Resource in the policy | Needed at | Made by |
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let steps: Vec<&str> = cells.get(3).copied().unwrap_or_default().split(", ").collect();
            let known = ["plan", "apply", "destroy", "import", "data source"];
            assert!(
                !steps.is_empty() && steps.iter().all(|s| known.contains(s)),
                "the row of {a} must say at which steps ({known:?}) it is needed: {row}"
            );
        }
    }

    #[test]
    fn an_operation_maps_to_its_action() {
        assert_eq!(action("ChangeResourceRecordSets").as_deref(), Some("route53:ChangeResourceRecordSets"));
        assert_eq!(action("ModifyListener").as_deref(), Some("elasticloadbalancing:ModifyListener"));
        assert_eq!(action("Nope"), None);
    }
}
