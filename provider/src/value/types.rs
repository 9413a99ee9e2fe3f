//! cty types and their JSON form (`cty.Type.MarshalJSON` / `UnmarshalJSON`, `cty/json.go`).
//!
//! The JSON form is what schema attributes carry in `type` and what a `dynamic` value carries next to
//! its payload: `"string"`, `["list","string"]`, `["object",{"a":"number"}]`, `["tuple",["bool"]]`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

use super::MAX_DEPTH;

/// A cty type. Capsule types do not exist on the wire and are not modelled.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    Number,
    String,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    /// Attribute names are kept sorted, which is also the order go-cty encodes them in.
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
    /// `cty.DynamicPseudoType`: the concrete type travels with the value.
    Dynamic,
}

/// A type description that is not valid cty type JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError(String);

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid type description: {}", self.0)
    }
}

impl std::error::Error for TypeError {}

impl Type {
    /// `list(element)`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// `object({...})` from (name, type) pairs.
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// `tuple([...])`.
    pub fn tuple(elements: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(elements.into_iter().collect())
    }

    /// The type of one attribute of an object type.
    pub fn attribute_type(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Object(attrs) => attrs.get(name),
            _ => None,
        }
    }

    /// The element type of a list, set or map type.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// The cty type JSON, as schema `type` fields and dynamic values carry it.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(t) => Json::Array(vec![Json::from("list"), t.to_json()]),
            Type::Set(t) => Json::Array(vec![Json::from("set"), t.to_json()]),
            Type::Map(t) => Json::Array(vec![Json::from("map"), t.to_json()]),
            Type::Object(attrs) => {
                let map = attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                Json::Array(vec![Json::from("object"), Json::Object(map)])
            }
            Type::Tuple(elems) => Json::Array(vec![Json::from("tuple"), Json::Array(elems.iter().map(Type::to_json).collect())]),
        }
    }

    /// Compact JSON text; object keys come out sorted, as Go's `json.Marshal` writes them.
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Type::Bool => out.push_str("\"bool\""),
            Type::Number => out.push_str("\"number\""),
            Type::String => out.push_str("\"string\""),
            Type::Dynamic => out.push_str("\"dynamic\""),
            Type::List(t) | Type::Set(t) | Type::Map(t) => {
                out.push_str(match self {
                    Type::List(_) => "[\"list\",",
                    Type::Set(_) => "[\"set\",",
                    _ => "[\"map\",",
                });
                t.write_json(out);
                out.push(']');
            }
            Type::Object(attrs) => {
                out.push_str("[\"object\",{");
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_string(k));
                    out.push(':');
                    t.write_json(out);
                }
                out.push_str("}]");
            }
            Type::Tuple(elems) => {
                out.push_str("[\"tuple\",[");
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    t.write_json(out);
                }
                out.push_str("]]");
            }
        }
    }

    /// Parses cty type JSON. Also accepts the newer `["object",{...},["opt",...]]` form (optional
    /// attribute markers, which only matter for type constraints) and ignores the markers.
    pub fn from_json(json: &Json) -> Result<Type, TypeError> {
        parse(json, 0)
    }

    /// Parses cty type JSON from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        // serde_json bounds its own recursion (128), so hostile nesting cannot overflow the stack.
        let json: Json = serde_json::from_slice(bytes).map_err(|e| TypeError(e.to_string()))?;
        Type::from_json(&json)
    }

    /// A short human name, as go-cty's `FriendlyName`: `string`, `list of number`, `object`.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(t) => format!("list of {}", t.friendly_name()),
            Type::Set(t) => format!("set of {}", t.friendly_name()),
            Type::Map(t) => format!("map of {}", t.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }

    /// How deeply containers nest in this type (0 for primitives and dynamic).
    pub fn depth(&self) -> usize {
        match self {
            Type::Bool | Type::Number | Type::String | Type::Dynamic => 0,
            Type::List(t) | Type::Set(t) | Type::Map(t) => 1 + t.depth(),
            Type::Object(attrs) => 1 + attrs.values().map(Type::depth).max().unwrap_or(0),
            Type::Tuple(elems) => 1 + elems.iter().map(Type::depth).max().unwrap_or(0),
        }
    }
}

impl fmt::Display for Type {
    /// The compact type JSON, which is unambiguous and what Terraform users see in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

fn parse(json: &Json, depth: usize) -> Result<Type, TypeError> {
    if depth > MAX_DEPTH {
        return Err(TypeError(format!("type nests deeper than {MAX_DEPTH} levels")));
    }
    match json {
        Json::String(name) => match name.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(TypeError(format!("invalid primitive type name {other:?}"))),
        },
        Json::Array(items) => {
            let kind = match items.first() {
                Some(Json::String(kind)) => kind.as_str(),
                _ => return Err(TypeError("invalid complex type kind name".into())),
            };
            let arg = items.get(1).ok_or_else(|| TypeError(format!("{kind:?} type needs an argument")))?;
            let max_len = if kind == "object" { 3 } else { 2 };
            if items.len() > max_len {
                return Err(TypeError("unexpected extra data in type description".into()));
            }
            match kind {
                "list" => Ok(Type::list(parse(arg, depth + 1)?)),
                "set" => Ok(Type::set(parse(arg, depth + 1)?)),
                "map" => Ok(Type::map(parse(arg, depth + 1)?)),
                "object" => {
                    let Json::Object(attrs) = arg else {
                        return Err(TypeError("object type needs a JSON object of attribute types".into()));
                    };
                    let mut out = BTreeMap::new();
                    for (k, v) in attrs {
                        out.insert(k.clone(), parse(v, depth + 1)?);
                    }
                    if let Some(optional) = items.get(2) {
                        let names = optional.as_array().ok_or_else(|| TypeError("optional attributes must be an array".into()))?;
                        for name in names {
                            match name.as_str() {
                                Some(n) if out.contains_key(n) => {}
                                _ => return Err(TypeError(format!("invalid optional attribute {name}"))),
                            }
                        }
                    }
                    Ok(Type::Object(out))
                }
                "tuple" => {
                    let Json::Array(elems) = arg else {
                        return Err(TypeError("tuple type needs a JSON array of element types".into()));
                    };
                    Ok(Type::Tuple(elems.iter().map(|e| parse(e, depth + 1)).collect::<Result<_, _>>()?))
                }
                other => Err(TypeError(format!("invalid complex type kind name {other:?}"))),
            }
        }
        _ => Err(TypeError("a type is a JSON string or array".into())),
    }
}

/// The most specific type both `a` and `b` conform to, treating `dynamic` as "not known yet"
/// (it is what [`super::Value::implied_type`] gives nulls, unknowns and empty collections).
pub(super) fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => Some(t.clone()),
        (Type::List(x), Type::List(y)) => Some(Type::list(unify(x, y)?)),
        (Type::Set(x), Type::Set(y)) => Some(Type::set(unify(x, y)?)),
        (Type::Map(x), Type::Map(y)) => Some(Type::map(unify(x, y)?)),
        (Type::Object(x), Type::Object(y)) => {
            if x.len() != y.len() {
                return None;
            }
            let mut out = BTreeMap::new();
            for (k, tx) in x {
                out.insert(k.clone(), unify(tx, y.get(k)?)?);
            }
            Some(Type::Object(out))
        }
        (Type::Tuple(x), Type::Tuple(y)) => {
            if x.len() != y.len() {
                return None;
            }
            Some(Type::Tuple(x.iter().zip(y).map(|(p, q)| unify(p, q)).collect::<Option<_>>()?))
        }
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}
