//! Typed views of Terraform values.
//!
//! Terraform hands us dynamic cty values in which any attribute may be
//! unknown until apply. Resource code works with plain serde structs whose
//! leaves are [`Val<T>`]: known, null or unknown — so an unknown can never
//! silently turn into a null or a default. The struct is also the single
//! source of the schema (see [`crate::schema`]).
//!
//! The bridge is JSON: a [`Value`] becomes a `serde_json::Value` in which an
//! unknown is a private marker object that only `Val` recognises.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use crate::diag::Diagnostics;

use crate::value::{Number, Type, Value};

/// The JSON stand-in for an unknown value. No configuration can produce an
/// object with this key, because attribute names match `^[a-z0-9_]+$`.
const UNKNOWN_MARKER: &str = "$bluegreen:unknown";

/// A leaf of configuration or state: known, null, or not yet known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Val<T> {
    Known(T),
    #[default]
    Null,
    Unknown,
}

impl<T> Val<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown)
    }

    /// Set in configuration (known or not).
    pub fn is_set(&self) -> bool {
        !self.is_null()
    }

    /// Sets a value Terraform left null (an optional+computed attribute the
    /// user did not set). A configured value is kept as written: Terraform
    /// rejects results that change configuration.
    pub fn fill(&mut self, value: T) {
        if self.is_null() {
            *self = Val::Known(value);
        }
    }

    /// The value at apply, where every default is filled in (the schema's by
    /// the adapter, the rest by the resource's `complete`) and every value is
    /// known: a missing one is this provider's bug, said so, not defaulted again.
    pub fn needed(&self, resource: &str) -> Result<&T, Diagnostics> {
        self.known().ok_or_else(|| not_known_at_apply(resource))
    }

    /// An optional value without a default at apply: `None` when not set,
    /// and, like [`Val::needed`], this provider's bug while unknown.
    pub fn optional(&self, resource: &str) -> Result<Option<&T>, Diagnostics> {
        match self {
            Val::Null => Ok(None),
            _ => self.needed(resource).map(Some),
        }
    }

    /// The known value mapped; null and unknown stay as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Val<U> {
        match self {
            Val::Known(t) => Val::Known(f(t)),
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
        }
    }

    pub fn as_ref(&self) -> Val<&T> {
        match self {
            Val::Known(t) => Val::Known(t),
            Val::Null => Val::Null,
            Val::Unknown => Val::Unknown,
        }
    }
}

/// The diagnostic for a value of `resource` missing (or malformed) at apply,
/// after validation and the defaults: this provider's bug.
pub fn not_known_at_apply(resource: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.bug(format!("{resource}: a value needed at apply is not known"));
    d
}

impl<T> From<Option<T>> for Val<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Val::Known)
    }
}

impl<T> From<T> for Val<T> {
    fn from(v: T) -> Self {
        Val::Known(v)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Val<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        if json.is_null() {
            return Ok(Val::Null);
        }
        // A collection with an unknown element (`[var.host]` before apply) is
        // not known as a whole.
        if contains_unknown(&json) {
            return Ok(Val::Unknown);
        }
        T::deserialize(json).map(Val::Known).map_err(serde::de::Error::custom)
    }
}

impl<T: Serialize> Serialize for Val<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Known(t) => t.serialize(s),
            Val::Null => s.serialize_none(),
            Val::Unknown => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(UNKNOWN_MARKER, &true)?;
                m.end()
            }
        }
    }
}

impl<T: JsonSchema> JsonSchema for Val<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
}

fn contains_unknown(json: &Json) -> bool {
    match json {
        Json::Array(xs) => xs.iter().any(contains_unknown),
        Json::Object(m) => is_unknown_marker(json) || m.values().any(contains_unknown),
        _ => false,
    }
}

fn is_unknown_marker(json: &Json) -> bool {
    json.as_object().is_some_and(|m| m.len() == 1 && m.contains_key(UNKNOWN_MARKER))
}

fn number_to_json(n: &Number) -> Json {
    if let Some(i) = n.as_i64() {
        Json::from(i)
    } else {
        serde_json::Number::from_f64(n.as_f64()).map_or(Json::Null, Json::Number)
    }
}

/// A cty value as JSON for serde. Unknowns become the marker object.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Unknown => serde_json::json!({ UNKNOWN_MARKER: true }),
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number_to_json(n),
        Value::String(s) => Json::String(s.clone()),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => Json::Array(xs.iter().map(value_to_json).collect()),
        Value::Map(m) | Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect()),
    }
}

/// JSON from serde back into a cty value of type `ty`. Missing object
/// attributes become null; the marker becomes unknown. Values that do not fit
/// the type are an error (a bug in the resource code, not user input).
pub fn json_to_value(json: &Json, ty: &Type) -> Result<Value, String> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    if is_unknown_marker(json) {
        return Ok(Value::Unknown);
    }
    let mismatch = || format!("{json} does not fit type {}", ty.to_json());
    Ok(match ty {
        Type::Bool => Value::Bool(json.as_bool().ok_or_else(mismatch)?),
        Type::Number => {
            let n = json.as_number().ok_or_else(mismatch)?;
            Value::Number(Number::parse(&n.to_string()).map_err(|e| e.to_string())?)
        }
        Type::String => match json {
            Json::String(s) => Value::String(s.clone()),
            Json::Number(n) => Value::String(n.to_string()),
            Json::Bool(b) => Value::String(b.to_string()),
            _ => return Err(mismatch()),
        },
        Type::List(el) | Type::Set(el) => {
            let xs = json.as_array().ok_or_else(mismatch)?;
            let xs = xs.iter().map(|x| json_to_value(x, el)).collect::<Result<Vec<_>, _>>()?;
            if matches!(ty, Type::List(_)) {
                Value::List(xs)
            } else {
                Value::Set(xs)
            }
        }
        Type::Tuple(els) => {
            let xs = json.as_array().ok_or_else(mismatch)?;
            if xs.len() != els.len() {
                return Err(mismatch());
            }
            Value::Tuple(xs.iter().zip(els).map(|(x, t)| json_to_value(x, t)).collect::<Result<_, _>>()?)
        }
        Type::Map(el) => {
            let m = json.as_object().ok_or_else(mismatch)?;
            Value::Map(m.iter().map(|(k, v)| Ok((k.clone(), json_to_value(v, el)?))).collect::<Result<BTreeMap<_, _>, String>>()?)
        }
        Type::Object(attrs) => {
            let m = json.as_object().ok_or_else(mismatch)?;
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(format!("attribute {extra:?} is not in the schema"));
            }
            Value::Object(
                attrs.iter().map(|(k, t)| Ok((k.clone(), m.get(k).map_or(Ok(Value::Null), |v| json_to_value(v, t))?))).collect::<Result<
                    BTreeMap<_, _>,
                    String,
                >>(
                )?,
            )
        }
        Type::Dynamic => return Err("dynamic attributes are not used by this provider".into()),
    })
}

/// Decodes a cty value into a typed view.
pub fn decode<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(value_to_json(v)).map_err(|e| e.to_string())
}

/// Encodes a typed view as a cty value of type `ty`.
pub fn encode<T: Serialize>(t: &T, ty: &Type) -> Result<Value, String> {
    let json = serde_json::to_value(t).map_err(|e| e.to_string())?;
    json_to_value(&json, ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Probe {
        a: Val<String>,
        b: Val<u8>,
        #[serde(default)]
        c: Val<Vec<String>>,
    }

    fn ty() -> Type {
        Type::object([("a", Type::String), ("b", Type::Number), ("c", Type::list(Type::String))])
    }

    #[test]
    fn unknown_survives_decode_and_encode() {
        let v = Value::object([("a", Value::Unknown), ("b", Value::number(7i64)), ("c", Value::Null)]);
        let p: Probe = decode(&v).unwrap();
        assert_eq!(p, Probe { a: Val::Unknown, b: Val::Known(7), c: Val::Null });
        assert_eq!(encode(&p, &ty()).unwrap(), v);
    }

    #[test]
    fn a_list_with_an_unknown_element_is_unknown() {
        let v = Value::object([
            ("a", Value::string("x")),
            ("b", Value::number(1i64)),
            ("c", Value::list([Value::string("k"), Value::Unknown])),
        ]);
        let p: Probe = decode(&v).unwrap();
        assert_eq!(p.c, Val::Unknown);
    }

    #[test]
    fn wrong_type_is_an_error_not_a_null() {
        let v = Value::object([("a", Value::string("x")), ("b", Value::number(300i64)), ("c", Value::Null)]);
        assert!(decode::<Probe>(&v).is_err(), "300 does not fit u8");
    }

    #[test]
    fn encode_rejects_attributes_outside_the_schema() {
        let json = serde_json::json!({"a": "x", "zzz": 1});
        assert!(json_to_value(&json, &ty()).is_err());
    }
}
