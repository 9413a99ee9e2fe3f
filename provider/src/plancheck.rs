//! Terraform's own checks of a provider's answers, in-tree: an oracle for
//! tests and a last guard before a plan or an apply result leaves the
//! provider.
//!
//! Terraform rejects a plan or an apply result that breaks these rules with
//! "Provider produced invalid plan" / "Provider produced inconsistent result
//! after apply", and after that every plan, apply and destroy of the resource
//! fails until the configuration changes. The rules are those of Terraform's
//! `internal/plans/objchange` (`AssertPlanValid`, `AssertObjectCompatible`),
//! restated here for the schema shapes this provider serves (attributes and
//! nested blocks; no nested attribute types, no `dynamic`):
//!
//! - **Plan.** A planned object exists exactly when the configuration does.
//!   Each attribute's planned value equals the configuration's, or equals a
//!   non-null prior value where the configuration is non-null too (the
//!   provider says the two mean the same), or — only for computed attributes
//!   whose configuration is null, or computed-only attributes — is anything,
//!   unknown included. Nested blocks follow the configuration: a single block
//!   is present exactly when configured, a list has the configured count, and
//!   no block or block element is itself unknown.
//! - **Apply.** Every value known in the plan comes back unchanged, blocks
//!   keep their count, and the result is wholly known.
//!
//! Messages are written for provider developers, like Terraform's.

use crate::schema::{Attribute, Block, Nesting};
use crate::value::{Path, PathStep, Value};

/// The problems Terraform would find in `planned` as the plan from `prior`
/// to `config` (each a path and what is wrong); empty when it is valid.
pub fn assert_plan_valid(block: &Block, prior: &Value, config: &Value, planned: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    plan_valid(block, prior, config, planned, &Path::default(), &mut errs);
    errs
}

/// The problems Terraform would find in `actual`, the result of applying
/// `planned`; empty when it is compatible.
pub fn assert_object_compatible(block: &Block, planned: &Value, actual: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    object_compatible(block, planned, actual, &Path::default(), &mut errs);
    if !actual.is_known() {
        errs.push(format!("{}: the result of apply holds unknown values", show_path(&Path::default())));
    }
    errs
}

/// How a Terraform version builds `proposed_new_state` (objchange.ProposedNew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proposal {
    /// Terraform 1.0: a single nested block the configuration no longer has
    /// is proposed as it was in the prior state.
    KeepsRemovedSingleBlocks,
    /// Terraform ≥ 1.3 (checked with 1.6.6 and 1.15.5): such a block is null.
    DropsRemovedSingleBlocks,
}

/// Terraform's proposed new state for `config` over `prior`: what it sends
/// as `proposed_new_state`. The provider does not read it; tests hand it to
/// the old code path and to the fuzz targets to show what trusting it did.
/// Non-computed attributes come from the configuration, computed ones the
/// configuration leaves null from the prior state; list blocks correlate by
/// index.
pub fn proposed_new(block: &Block, prior: &Value, config: &Value, how: Proposal) -> Value {
    if config.is_null() && prior.is_null() {
        return Value::Null;
    }
    if config.is_null() || config.is_unknown() {
        return match how {
            Proposal::KeepsRemovedSingleBlocks => prior.clone(),
            Proposal::DropsRemovedSingleBlocks => config.clone(),
        };
    }
    let mut out = std::collections::BTreeMap::new();
    for a in &block.attributes {
        let (p, c) = (attr(prior, &a.name), attr(config, &a.name));
        let v = match (a.computed, a.optional) {
            (true, true) if c.is_null() => p.clone(),
            (true, false) => p.clone(),
            _ => c.clone(),
        };
        out.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let (p, c) = (attr(prior, &b.name), attr(config, &b.name));
        let v = match (b.nesting, c) {
            (_, Value::Unknown) => Value::Unknown,
            (Nesting::Single, _) => proposed_new(&b.block, p, c, how),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, ci)| proposed_new(&b.block, p.as_elements().and_then(|e| e.get(i)).unwrap_or(&Value::Null), ci, how))
                    .collect(),
            ),
            (_, other) => other.clone(),
        };
        out.insert(b.name.clone(), v);
    }
    Value::Object(out)
}

/// The state an apply of `planned` leaves when every unknown turns out to be
/// some value of its type: how tests stand in for AWS after a plan.
pub fn applied_state(ty: &crate::value::Type, planned: &Value) -> Value {
    use crate::value::Type;
    match (ty, planned) {
        (Type::String, Value::Unknown) => Value::string("set-by-apply"),
        (Type::Number, Value::Unknown) => Value::number(7i64),
        (Type::Bool, Value::Unknown) => Value::Bool(false),
        (Type::List(_) | Type::Set(_), Value::Unknown) => Value::List(Vec::new()),
        (Type::Object(types), Value::Object(attrs)) => {
            Value::Object(attrs.iter().map(|(k, v)| (k.clone(), types.get(k).map_or(v.clone(), |t| applied_state(t, v)))).collect())
        }
        (Type::List(t), Value::List(items)) => Value::List(items.iter().map(|v| applied_state(t, v)).collect()),
        (_, v) => v.clone(),
    }
}

fn show_path(p: &Path) -> String {
    if p.0.is_empty() {
        "(root)".to_string()
    } else {
        p.to_string()
    }
}

fn at(path: &Path, name: &str) -> Path {
    let mut p = path.clone();
    p.0.push(PathStep::Attr(name.to_string()));
    p
}

fn index(path: &Path, i: usize) -> Path {
    let mut p = path.clone();
    p.0.push(PathStep::Index(i as u64));
    p
}

fn attr<'a>(object: &'a Value, name: &str) -> &'a Value {
    object.get_attr(name).unwrap_or(&Value::Null)
}

fn plan_valid(block: &Block, prior: &Value, config: &Value, planned: &Value, path: &Path, errs: &mut Vec<String>) {
    if planned.is_null() && !config.is_null() {
        errs.push(format!("{}: planned for absence but config wants existence", show_path(path)));
        return;
    }
    if config.is_null() && !planned.is_null() {
        errs.push(format!("{}: planned for existence but config wants absence", show_path(path)));
        return;
    }
    if planned.is_null() {
        return;
    }
    if planned.is_unknown() {
        errs.push(format!("{}: planned object is unknown as a whole", show_path(path)));
        return;
    }
    for a in &block.attributes {
        planned_value_valid(a, attr(prior, &a.name), attr(config, &a.name), attr(planned, &a.name), &at(path, &a.name), errs);
    }
    for b in &block.blocks {
        let path = at(path, &b.name);
        let (prior_v, config_v, planned_v) = (attr(prior, &b.name), attr(config, &b.name), attr(planned, &b.name));
        if b.nesting != Nesting::Single && planned_v.is_null() {
            errs.push(format!(
                "{path}: attribute representing a list or set of nested blocks must be empty to indicate no blocks, not null"
            ));
            continue;
        }
        if planned_v == config_v {
            continue;
        }
        if config_v.is_unknown() {
            errs.push(format!("{path}: planned value {planned_v:?} for unknown dynamic block"));
            continue;
        }
        if planned_v.is_unknown() {
            errs.push(format!("{path}: planned unknown value for non-computed block"));
            continue;
        }
        match b.nesting {
            Nesting::Single => plan_valid(&b.block, prior_v, config_v, planned_v, &path, errs),
            Nesting::List => {
                let empty = Vec::new();
                let planned_l = planned_v.as_elements().unwrap_or(&empty);
                let config_l = config_v.as_elements().unwrap_or(&empty);
                if planned_l.len() != config_l.len() {
                    errs.push(format!(
                        "{path}: block count in plan ({}) disagrees with count in config ({})",
                        planned_l.len(),
                        config_l.len()
                    ));
                    continue;
                }
                for (i, (p, c)) in planned_l.iter().zip(config_l).enumerate() {
                    if p.is_unknown() {
                        errs.push(format!(
                            "{}: element representing nested block must not be unknown itself; set nested attribute values to unknown instead",
                            index(&path, i)
                        ));
                        continue;
                    }
                    let prior_e = prior_v.as_elements().and_then(|e| e.get(i)).unwrap_or(&Value::Null);
                    plan_valid(&b.block, prior_e, c, p, &index(&path, i), errs);
                }
            }
            // As Terraform: set elements cannot be correlated, so only their knownness is checked.
            Nesting::Set => {
                for (i, p) in planned_v.as_elements().unwrap_or(&[]).iter().enumerate() {
                    if p.is_unknown() {
                        errs.push(format!("{}: element representing nested block must not be unknown itself", index(&path, i)));
                    }
                }
            }
        }
    }
}

fn planned_value_valid(a: &Attribute, prior: &Value, config: &Value, planned: &Value, path: &Path, errs: &mut Vec<String>) {
    if planned == config {
        return;
    }
    if planned == prior && !prior.is_null() && !config.is_null() {
        // The provider keeps the prior value as equivalent to the configured one.
        return;
    }
    if a.computed && !a.optional {
        return;
    }
    if config.is_null() && a.computed {
        return;
    }
    if config.is_null() {
        errs.push(format!("{path}: planned value {planned:?} for a non-computed attribute"));
        return;
    }
    if prior.is_null() {
        errs.push(format!("{path}: planned value {planned:?} does not match config value {config:?}"));
    } else {
        errs.push(format!("{path}: planned value {planned:?} does not match config value {config:?} nor prior value {prior:?}"));
    }
}

fn object_compatible(block: &Block, planned: &Value, actual: &Value, path: &Path, errs: &mut Vec<String>) {
    let root = if path.0.is_empty() { "Root object " } else { "" };
    if planned.is_null() && !actual.is_null() {
        errs.push(format!("{}: {root}was absent, but now present", show_path(path)));
        return;
    }
    if actual.is_null() && !planned.is_null() {
        errs.push(format!("{}: {root}was present, but now absent", show_path(path)));
        return;
    }
    if planned.is_null() || planned.is_unknown() {
        return;
    }
    for a in &block.attributes {
        value_compatible(attr(planned, &a.name), attr(actual, &a.name), &at(path, &a.name), errs);
    }
    for b in &block.blocks {
        let path = at(path, &b.name);
        let (planned_v, actual_v) = (attr(planned, &b.name), attr(actual, &b.name));
        match b.nesting {
            Nesting::Single => {
                if planned_v.is_unknown() && actual_v.is_null() {
                    continue;
                }
                object_compatible(&b.block, planned_v, actual_v, &path, errs);
            }
            Nesting::List | Nesting::Set => {
                let (Some(p), Some(a)) = (planned_v.as_elements(), actual_v.as_elements()) else { continue };
                if p.len() != a.len() && (b.nesting == Nesting::List || a.len() > p.len()) {
                    errs.push(format!("{path}: block count changed from {} to {}", p.len(), a.len()));
                    continue;
                }
                if b.nesting == Nesting::List {
                    for (i, (pe, ae)) in p.iter().zip(a).enumerate() {
                        object_compatible(&b.block, pe, ae, &index(&path, i), errs);
                    }
                }
            }
        }
    }
}

fn value_compatible(planned: &Value, actual: &Value, path: &Path, errs: &mut Vec<String>) {
    if planned.is_unknown() {
        return;
    }
    if !actual.is_known() {
        errs.push(format!("{path}: was known, but now unknown"));
        return;
    }
    match (planned, actual) {
        (Value::List(p), Value::List(a)) | (Value::Tuple(p), Value::Tuple(a)) => {
            for (i, pe) in p.iter().enumerate() {
                match a.get(i) {
                    Some(ae) => value_compatible(pe, ae, &index(path, i), errs),
                    None => errs.push(format!("{path}: element {i} has vanished")),
                }
            }
            for i in p.len()..a.len() {
                errs.push(format!("{path}: new element {i} has appeared"));
            }
        }
        (Value::Map(p), Value::Map(a)) | (Value::Object(p), Value::Object(a)) => {
            for (k, pe) in p {
                let mut sub = path.clone();
                sub.0.push(PathStep::Key(k.clone()));
                match a.get(k) {
                    Some(ae) => value_compatible(pe, ae, &sub, errs),
                    None => errs.push(format!("{path}: element {k:?} has vanished")),
                }
            }
            for k in a.keys().filter(|k| !p.contains_key(*k)) {
                errs.push(format!("{path}: new element {k:?} has appeared"));
            }
        }
        (Value::Set(p), Value::Set(a)) => {
            if p.iter().all(Value::is_known) && p != a {
                errs.push(format!("{path}: planned set element {planned:?} does not correlate with any element in actual {actual:?}"));
            } else if a.len() > p.len() {
                errs.push(format!("{path}: set grew from {} to {} elements", p.len(), a.len()));
            }
        }
        _ if planned != actual => errs.push(format!("{path}: was {planned:?}, but now {actual:?}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};
    use crate::value::Type;

    fn attribute(name: &str, optional: bool, computed: bool) -> Attribute {
        Attribute {
            name: name.into(),
            ty: Type::String,
            description: "d".into(),
            required: !optional && !computed,
            optional,
            computed,
            sensitive: false,
            deprecated: false,
            default: None,
            constraints: serde_json::json!({}),
        }
    }

    /// required `name`, optional `opt`, optional+computed `oc`, computed `out`, a single block `rollout { steps }`
    /// and a list block `rule { v }`.
    fn schema() -> Block {
        let inner = Block { description: "b".into(), attributes: vec![attribute("steps", true, false)], ..Block::default() };
        Block {
            description: "r".into(),
            attributes: vec![
                attribute("name", false, false),
                attribute("opt", true, false),
                attribute("oc", true, true),
                attribute("out", false, true),
            ],
            blocks: vec![
                NestedBlock { name: "rollout".into(), nesting: Nesting::Single, block: inner.clone(), min_items: 0, max_items: 0 },
                NestedBlock { name: "rule".into(), nesting: Nesting::List, block: inner, min_items: 0, max_items: 0 },
            ],
            deprecated: false,
        }
    }

    fn obj(name: &str, opt: Value, oc: Value, out: Value, rollout: Value, rules: Vec<Value>) -> Value {
        Value::object([
            ("name", Value::string(name)),
            ("opt", opt),
            ("oc", oc),
            ("out", out),
            ("rollout", rollout),
            ("rule", Value::List(rules)),
        ])
    }

    fn steps(s: &str) -> Value {
        Value::object([("steps", Value::string(s))])
    }

    #[test]
    fn a_plan_equal_to_config_with_computed_values_filled_is_valid() {
        let config = obj("a", Value::Null, Value::Null, Value::Null, steps("x"), vec![steps("y")]);
        let planned = obj("a", Value::Null, Value::string("default"), Value::Unknown, steps("x"), vec![steps("y")]);
        assert_eq!(assert_plan_valid(&schema(), &Value::Null, &config, &planned), Vec::<String>::new());
    }

    /// The bug Terraform 1.0 exposed: a block removed from the configuration, kept in the plan.
    #[test]
    fn a_single_block_kept_after_the_config_dropped_it_is_invalid() {
        let prior = obj("a", Value::Null, Value::Null, Value::string("o"), steps("x"), vec![]);
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null, vec![]);
        let planned = obj("a", Value::Null, Value::Null, Value::string("o"), steps("x"), vec![]);
        assert_eq!(assert_plan_valid(&schema(), &prior, &config, &planned), [".rollout: planned for existence but config wants absence"]);
    }

    #[test]
    fn non_computed_attributes_must_follow_config_or_an_equal_prior() {
        let prior = obj("a", Value::string("p"), Value::Null, Value::Null, Value::Null, vec![]);
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null, vec![]);
        let kept = obj("a", Value::string("p"), Value::Null, Value::Null, Value::Null, vec![]);
        assert_eq!(
            assert_plan_valid(&schema(), &prior, &config, &kept),
            [".opt: planned value String(\"p\") for a non-computed attribute"]
        );
        // A configured value may be replaced by the prior one (same meaning, other spelling).
        let config = obj("a", Value::string("P"), Value::Null, Value::Null, Value::Null, vec![]);
        assert!(assert_plan_valid(&schema(), &prior, &config, &kept).is_empty());
        let other = obj("b", Value::string("P"), Value::Null, Value::Null, Value::Null, vec![]);
        assert_eq!(
            assert_plan_valid(&schema(), &prior, &config, &other),
            [".name: planned value String(\"b\") does not match config value String(\"a\") nor prior value String(\"a\")"]
        );
    }

    #[test]
    fn list_blocks_keep_the_configured_count_and_are_never_null_or_unknown() {
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null, vec![steps("y")]);
        let more = obj("a", Value::Null, Value::Null, Value::Null, Value::Null, vec![steps("y"), steps("z")]);
        assert_eq!(
            assert_plan_valid(&schema(), &Value::Null, &config, &more),
            [".rule: block count in plan (2) disagrees with count in config (1)"]
        );
        let mut null_list = config.clone();
        if let Value::Object(a) = &mut null_list {
            a.insert("rule".into(), Value::Null);
        }
        assert_eq!(assert_plan_valid(&schema(), &Value::Null, &config, &null_list).len(), 1);
        let unknown = obj("a", Value::Null, Value::Null, Value::Null, Value::Unknown, vec![steps("y")]);
        let config = obj("a", Value::Null, Value::Null, Value::Null, steps("x"), vec![steps("y")]);
        assert_eq!(
            assert_plan_valid(&schema(), &Value::Null, &config, &unknown),
            [".rollout: planned unknown value for non-computed block"]
        );
    }

    #[test]
    fn destroy_and_create_shapes() {
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null, vec![]);
        assert_eq!(
            assert_plan_valid(&schema(), &Value::Null, &config, &Value::Null),
            ["(root): planned for absence but config wants existence"]
        );
        assert!(assert_plan_valid(&schema(), &config, &Value::Null, &Value::Null).is_empty());
    }

    #[test]
    fn apply_results_keep_known_planned_values_and_are_wholly_known() {
        let planned = obj("a", Value::Null, Value::string("d"), Value::Unknown, steps("x"), vec![]);
        let actual = obj("a", Value::Null, Value::string("d"), Value::string("id-1"), steps("x"), vec![]);
        assert!(assert_object_compatible(&schema(), &planned, &actual).is_empty());
        let changed = obj("a", Value::Null, Value::string("e"), Value::string("id-1"), steps("x"), vec![]);
        assert_eq!(assert_object_compatible(&schema(), &planned, &changed), [".oc: was String(\"d\"), but now String(\"e\")"]);
        let unknown = obj("a", Value::Null, Value::string("d"), Value::Unknown, steps("x"), vec![]);
        assert_eq!(assert_object_compatible(&schema(), &planned, &unknown), ["(root): the result of apply holds unknown values"]);
        let dropped = obj("a", Value::Null, Value::string("d"), Value::string("i"), Value::Null, vec![]);
        assert_eq!(assert_object_compatible(&schema(), &planned, &dropped), [".rollout: was present, but now absent"]);
    }
}
