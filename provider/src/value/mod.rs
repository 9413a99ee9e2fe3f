//! cty values as Terraform exchanges them with providers (`DynamicValue`).
//!
//! Terraform encodes every config, plan and state value with go-cty, as msgpack on the wire and as
//! JSON in stored state (`UpgradeResourceState.raw_state.json`). This module models those values
//! without Go's type machinery: a [`Value`] is untyped and is always read and written *against* a
//! [`Type`] (the schema), exactly as go-cty's `Unmarshal(bytes, ty)` / `Marshal(val, ty)` are.
//!
//! Consequences of the untyped model, all deliberate:
//! - [`Value::Null`] and [`Value::Unknown`] carry no type; the schema supplies it.
//! - Refinements on unknown values (msgpack extension 12, Terraform ≥ 1.6) are accepted and dropped:
//!   they are hints, and a plain unknown is always a valid plan value.
//! - Under a `dynamic` type the concrete type on the wire is used to decode and then dropped; on
//!   encode it is re-derived with [`Value::implied_type`]. So an empty list sent as `list(string)`
//!   comes back as `list(dynamic)`. Schemas here do not use `dynamic`, so this only matters if one
//!   ever does.

pub mod json;
pub mod msgpack;
mod number;
mod types;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

pub use number::{Number, ParseNumberError};
pub use types::{Type, TypeError};

/// How deeply containers may nest in a decoded or encoded value (and in a type read from JSON).
/// Terraform values are shallow; the bound keeps hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// A cty value, untyped: the schema [`Type`] it is read or written against gives it meaning.
///
/// Equality is structural ("raw" equality, like cty's `RawEquals`): `Unknown == Unknown` and
/// `Null == Null`. Numbers compare numerically; sets compare as multisets, ignoring order.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply. Wholly unknown: the value may turn out to be null.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Elements in wire order. cty sets never hold duplicates; nothing here enforces that.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Every attribute of the object type must be present (null when unset).
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) | (Value::Unknown, Value::Unknown) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::Set(a), Value::Set(b)) => multiset_eq(a, b),
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Greedy matching is exact because `==` is an equivalence relation.
    let mut used = vec![false; b.len()];
    'next: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && x == y {
                used[j] = true;
                continue 'next;
            }
        }
        return false;
    }
    true
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A number value.
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    /// An object value from (attribute, value) pairs.
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A map value from (key, value) pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A list value.
    pub fn list(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::List(elements.into_iter().collect())
    }

    /// A set value.
    pub fn set(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(elements.into_iter().collect())
    }

    /// A tuple value.
    pub fn tuple(elements: impl IntoIterator<Item = Value>) -> Value {
        Value::Tuple(elements.into_iter().collect())
    }

    /// True when nothing anywhere inside is unknown (what an applied state must be).
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_known),
        }
    }

    /// True when this value itself is unknown (its contents, if any, are not inspected).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True for null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// An object attribute. `None` if this is not an object or lacks the attribute.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.get(name),
            _ => None,
        }
    }

    /// A map element by key.
    pub fn get_key(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as `i64`, if this is a known integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The elements of a list, set or tuple.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// The entries of a map or the attributes of an object.
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The most specific type this value conforms to, as go-cty would type it; `dynamic` for null,
    /// unknown and for element types of empty (or all-null) collections. `None` when the elements of
    /// a list, set or map have incompatible types, which cty cannot represent.
    ///
    /// Encoders use this under a `dynamic` type, where the wire carries the concrete type.
    pub fn implied_type(&self) -> Option<Type> {
        fn common<'a>(elements: impl Iterator<Item = &'a Value>) -> Option<Type> {
            let mut acc = Type::Dynamic;
            for e in elements {
                acc = types::unify(&acc, &e.implied_type()?)?;
            }
            Some(acc)
        }
        Some(match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => Type::list(common(v.iter())?),
            Value::Set(v) => Type::set(common(v.iter())?),
            Value::Map(m) => Type::map(common(m.values())?),
            Value::Tuple(v) => Type::Tuple(v.iter().map(Value::implied_type).collect::<Option<_>>()?),
            Value::Object(m) => Type::Object(m.iter().map(|(k, v)| Some((k.clone(), v.implied_type()?))).collect::<Option<_>>()?),
        })
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::from(i))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` becomes null, which is how optional attributes are unset.
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One step into a value: what Terraform's diagnostics call attribute / element-key steps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// Object attribute.
    Attr(String),
    /// List, tuple or (positional) set element.
    Index(u64),
    /// Map element.
    Key(String),
}

/// Where a codec is inside a value: the path (for error messages) and the
/// nesting depth (bounded by [`MAX_DEPTH`]). Shared by the four codecs.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    pub path: Vec<PathStep>,
    pub depth: usize,
}

/// An error that knows where it happened.
pub(crate) trait AtPath {
    fn at(path: Path, message: String) -> Self;
}

impl AtPath for DecodeError {
    fn at(path: Path, message: String) -> Self {
        DecodeError { path, message }
    }
}

impl AtPath for EncodeError {
    fn at(path: Path, message: String) -> Self {
        EncodeError { path, message }
    }
}

/// A codec walking a value with a [`Trail`].
pub(crate) trait Walk: Sized {
    type Error: AtPath;

    fn trail(&self) -> &Trail;
    fn trail_mut(&mut self) -> &mut Trail;

    fn err(&self, message: impl Into<String>) -> Self::Error {
        Self::Error::at(Path(self.trail().path.clone()), message.into())
    }

    /// Runs `f` one container level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Self::Error>) -> Result<T, Self::Error> {
        if self.trail().depth >= MAX_DEPTH {
            return Err(self.err(format!("value nests deeper than {MAX_DEPTH} levels")));
        }
        self.trail_mut().depth += 1;
        let result = f(self);
        self.trail_mut().depth -= 1;
        result
    }

    fn with_step<T>(&mut self, step: PathStep, f: impl FnOnce(&mut Self) -> Result<T, Self::Error>) -> Result<T, Self::Error> {
        self.trail_mut().path.push(step);
        let result = f(self);
        self.trail_mut().path.pop();
        result
    }
}

/// Where in a value something went wrong, rendered like `.blue.alias.name`, `[2]` or `["k"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<PathStep>);

impl Path {
    /// True for the value itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.0 {
            match step {
                PathStep::Attr(name) => write!(f, ".{name}")?,
                PathStep::Index(i) => write!(f, "[{i}]")?,
                PathStep::Key(k) => write!(f, "[{}]", serde_json::to_string(k).map_err(|_| fmt::Error)?)?,
            }
        }
        Ok(())
    }
}

fn fmt_at(f: &mut fmt::Formatter<'_>, path: &Path, message: &str) -> fmt::Result {
    if path.is_root() {
        f.write_str(message)
    } else {
        write!(f, "{path}: {message}")
    }
}

/// Bytes that are not a valid encoding of a value of the expected type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Where in the value the problem is.
    pub path: Path,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_at(f, &self.path, &self.message)
    }
}

impl std::error::Error for DecodeError {}

/// A value that does not conform to the type it is being encoded as (or cannot be encoded at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// Where in the value the problem is.
    pub path: Path,
    pub message: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_at(f, &self.path, &self.message)
    }
}

impl std::error::Error for EncodeError {}

/// A short name for what a value is, for "expected X, got Y" messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
    }
}

/// Checks an object value against its attribute types before encoding, naming the first missing
/// or unexpected attribute.
fn check_object_keys(attrs: &BTreeMap<String, Type>, value: &BTreeMap<String, Value>) -> Result<(), String> {
    if let Some(missing) = attrs.keys().find(|k| !value.contains_key(*k)) {
        return Err(format!("missing attribute {missing:?}"));
    }
    if let Some(extra) = value.keys().find(|k| !attrs.contains_key(*k)) {
        return Err(format!("unsupported attribute {extra:?}"));
    }
    Ok(())
}
