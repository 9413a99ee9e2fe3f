//! Resource identity (Terraform ≥ 1.12, tfplugin6 6.9): for each managed resource type, the few attributes that name
//! the AWS object it manages, permanently. Terraform stores the identity beside the state, shows it, and imports by it
//! (`import { to = …  identity = { … } }`). Older Terraform never asks for identities and ignores the fields that carry
//! them, so 1.0–1.11 behave as before.
//!
//! - `bluegreen_switch`: `zone_id`, `name`, `type` (required for import) and `blue_set_identifier` /
//!   `green_set_identifier` (optional; `blue` and `green` by default, as the resource's set identifiers).
//! - `bluegreen_canary_listener` (and `canary_listener`): `rule_arn`, the weighted rule (required), and `test_rule_arn`,
//!   the header test rule (optional).
//!
//! An identity is computed from a state, never stored elsewhere: read, plan, apply and import return the identity of
//! the state they return, so state and identity cannot disagree. Import by identity is import by the string id the
//! identity spells, so both imports give the same state.

use crate::diag::Diagnostics;
use crate::proto::tfplugin6 as pb;
use crate::value::{Type, Value};

/// One identity attribute: a string read from the state at `path`.
pub struct IdentityAttr {
    pub name: &'static str,
    /// Where the value sits in the resource's state (a nested single block's attribute is two names).
    pub path: &'static [&'static str],
    pub required_for_import: bool,
    pub description: &'static str,
}

/// The identity of one resource type.
pub struct IdentityDef {
    /// The identity schema's version (independent of the resource schema's).
    pub version: i64,
    pub attrs: &'static [IdentityAttr],
    /// The string import id an identity spells (a known identity object), or why it spells none.
    import_id: fn(&Value) -> Result<String, String>,
}

const SWITCH: IdentityDef = IdentityDef {
    version: 0,
    attrs: &[
        IdentityAttr {
            name: "zone_id",
            path: &["zone_id"],
            required_for_import: true,
            description: "Id of the hosted zone holding the record sets (`/hostedzone/` prefix allowed).",
        },
        IdentityAttr { name: "name", path: &["name"], required_for_import: true, description: "The switched DNS name." },
        IdentityAttr { name: "type", path: &["type"], required_for_import: true, description: "Record type: `A`, `AAAA` or `CNAME`." },
        IdentityAttr {
            name: "blue_set_identifier",
            path: &["blue", "set_identifier"],
            required_for_import: false,
            description: "Set identifier of the blue record set; `blue` when not given.",
        },
        IdentityAttr {
            name: "green_set_identifier",
            path: &["green", "set_identifier"],
            required_for_import: false,
            description: "Set identifier of the green record set; `green` when not given.",
        },
    ],
    import_id: switch_import_id,
};

const CANARY: IdentityDef = IdentityDef {
    version: 0,
    attrs: &[
        IdentityAttr {
            name: "rule_arn",
            path: &["rule_arn"],
            required_for_import: true,
            description: "ARN of the weighted listener rule.",
        },
        IdentityAttr {
            name: "test_rule_arn",
            path: &["test_rule_arn"],
            required_for_import: false,
            description: "ARN of the header test rule, when the canary has a test route.",
        },
    ],
    import_id: canary_import_id,
};

/// The identity of a resource type, by the type name it is served under.
pub fn of(type_name: &str) -> Option<&'static IdentityDef> {
    match type_name {
        "bluegreen_switch" => Some(&SWITCH),
        "bluegreen_canary_listener" | crate::resources::CANARY_ALIAS => Some(&CANARY),
        _ => None,
    }
}

fn text<'a>(identity: &'a Value, name: &str) -> Option<&'a str> {
    identity.get_attr(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn switch_import_id(identity: &Value) -> Result<String, String> {
    let need = |n: &str| text(identity, n).ok_or_else(|| format!("identity.{n} is required"));
    let (zone, name, rtype) = (need("zone_id")?, need("name")?, need("type")?);
    let blue = text(identity, "blue_set_identifier").unwrap_or("blue");
    let green = text(identity, "green_set_identifier").unwrap_or("green");
    if [zone.trim_start_matches("/hostedzone/"), name, rtype, blue, green].iter().any(|p| p.contains('/')) {
        return Err("identity values must not contain '/'".into());
    }
    Ok(format!("{zone}/{name}/{rtype}/{blue}/{green}"))
}

fn canary_import_id(identity: &Value) -> Result<String, String> {
    let rule = text(identity, "rule_arn").ok_or("identity.rule_arn is required")?;
    Ok(match text(identity, "test_rule_arn") {
        Some(test) => format!("{rule},{test}"),
        None => rule.to_string(),
    })
}

/// The value at `path` of a state, looking through a nested block (single, or a list of one).
fn at<'a>(state: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = state.get_attr(first)?;
    let v = match v {
        Value::List(items) | Value::Set(items) => items.first()?,
        v => v,
    };
    if rest.is_empty() {
        Some(v)
    } else {
        at(v, rest)
    }
}

impl IdentityDef {
    /// The identity's type: an object of strings.
    pub fn implied_type(&self) -> Type {
        Type::Object(self.attrs.iter().map(|a| (a.name.to_string(), Type::String)).collect())
    }

    pub fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attrs
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.to_string(),
                    r#type: Type::String.to_json_string().into_bytes(),
                    required_for_import: a.required_for_import,
                    optional_for_import: !a.required_for_import,
                    description: a.description.to_string(),
                })
                .collect(),
        }
    }

    /// The identity of a state: null for no object; an attribute the state holds as null (a canary without a test
    /// route) is null, an unknown one (a rule not created yet) unknown.
    pub fn from_state(&self, state: &Value) -> Value {
        if state.is_null() || state.is_unknown() {
            return Value::Null;
        }
        Value::Object(self.attrs.iter().map(|a| (a.name.to_string(), at(state, a.path).cloned().unwrap_or(Value::Null))).collect())
    }

    /// The string import id that `identity` names, or an error pointing at the identity.
    pub fn import_id(&self, type_name: &str, identity: &Value) -> Result<String, Diagnostics> {
        (self.import_id)(identity).map_err(|why| {
            let mut d = Diagnostics::new();
            d.error("Invalid import identity", format!("This identity does not name a {type_name}: {why}."));
            d
        })
    }
}

/// Whether a value holds no unknown anywhere.
pub fn wholly_known(v: &Value) -> bool {
    match v {
        Value::Unknown => false,
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs.iter().all(wholly_known),
        Value::Map(m) | Value::Object(m) => m.values().all(wholly_known),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch_state(blue: Value) -> Value {
        Value::object([
            ("zone_id", Value::string("Z1")),
            ("name", Value::string("api.example.com")),
            ("type", Value::string("A")),
            ("blue", blue),
            ("green", Value::object([("set_identifier", Value::string("g"))])),
        ])
    }

    #[test]
    fn the_switch_identity_comes_from_the_state_and_spells_its_import_id() {
        let id = SWITCH.from_state(&switch_state(Value::object([("set_identifier", Value::string("b"))])));
        assert_eq!(id.get_attr("blue_set_identifier").and_then(Value::as_str), Some("b"));
        assert_eq!(id.get_attr("green_set_identifier").and_then(Value::as_str), Some("g"));
        assert_eq!(SWITCH.import_id("bluegreen_switch", &id).unwrap(), "Z1/api.example.com/A/b/g");
        // Set identifiers omitted in an import block default as the resource's do.
        let bare =
            Value::object([("zone_id", Value::string("Z1")), ("name", Value::string("a.example.com")), ("type", Value::string("A"))]);
        assert_eq!(SWITCH.import_id("bluegreen_switch", &bare).unwrap(), "Z1/a.example.com/A/blue/green");
        let missing = Value::object([("zone_id", Value::string("Z1"))]);
        let e = SWITCH.import_id("bluegreen_switch", &missing).unwrap_err();
        assert!(e.0[0].detail.contains("identity.name is required"), "{e:?}");
        assert_eq!(SWITCH.from_state(&Value::Null), Value::Null);
    }

    #[test]
    fn the_canary_identity_is_its_rules_and_an_unknown_rule_is_unknown() {
        let state = Value::object([("rule_arn", Value::Unknown), ("test_rule_arn", Value::Null), ("priority", Value::number(10))]);
        let id = CANARY.from_state(&state);
        assert!(!wholly_known(&id));
        assert_eq!(id.get_attr("test_rule_arn"), Some(&Value::Null));
        let known = Value::object([("rule_arn", Value::string("arn:r")), ("test_rule_arn", Value::string("arn:t"))]);
        assert_eq!(CANARY.import_id("bluegreen_canary_listener", &known).unwrap(), "arn:r,arn:t");
        let alone = Value::object([("rule_arn", Value::string("arn:r")), ("test_rule_arn", Value::Null)]);
        assert_eq!(CANARY.import_id("canary_listener", &alone).unwrap(), "arn:r");
        assert!(of("canary_listener").is_some() && of("bluegreen_canary_listener").is_some() && of("bluegreen_nope").is_none());
    }
}
