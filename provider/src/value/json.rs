//! The JSON encoding of cty values (go-cty's `cty/json` package), as found in stored state:
//! `UpgradeResourceState.raw_state.json`.
//!
//! Decoding follows go-cty's `unmarshal.go`: an object's missing attributes read as null (state
//! written by an older schema); a `bool` also accepts the strings `"true"`/`"1"`/`"false"`/`"0"`, a
//! `number` also accepts a numeric string, a `string` also accepts a number (its text) or a bool;
//! `dynamic` is `{"value": V, "type": T}`. Numbers are read from their exact text, never via f64.
//!
//! serde_json parses (and checks) the document; the walk below asks it for one level at a time
//! as [`RawValue`]s, so a number's text reaches [`Number::parse`] as written. (serde_json's own
//! `Value` would turn `12345678901234567890123` into an f64; its `arbitrary_precision` feature
//! would fix that for every user of serde_json in the build.) An object's repeated key keeps its
//! last value, as Go's decoder does.
//!
//! Encoding follows `marshal.go` (attributes sorted, `dynamic` as `{"value":..,"type":..}`) with two
//! deliberate differences: a number is written as its *exact* decimal (go-cty prints an f64 with
//! shortest round-trip digits, which reads back as a different cty number), and ±infinity — which
//! go-cty prints as bare, invalid `+Inf` — is written as the string `"+Inf"`/`"-Inf"`, which go-cty's
//! decoder accepts. Unknown values cannot be written.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::{check_object_keys, kind, DecodeError, EncodeError, Number, Path, PathStep, Trail, Type, Value, Walk};

/// Knobs for reading stored state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Skip object attributes the type does not have, instead of failing. State written by an
    /// older provider version may hold attributes a newer schema dropped; terraform-plugin-go's
    /// `IgnoreUndefinedAttributes` exists for the same reason. go-cty itself rejects them.
    pub ignore_undefined_attributes: bool,
}

/// Decodes cty JSON against `ty`, rejecting attributes the type does not have (as go-cty does).
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    decode_with(bytes, ty, DecodeOptions::default())
}

/// Decodes cty JSON against `ty` with explicit options.
pub fn decode_with(bytes: &[u8], ty: &Type, options: DecodeOptions) -> Result<Value, DecodeError> {
    let at_root = |message: String| DecodeError { path: Path::default(), message };
    let text = std::str::from_utf8(bytes).map_err(|e| at_root(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    // Checks the whole document (serde_json skips nested values without recursing).
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| at_root(format!("invalid JSON: {e}")))?;
    let mut d = Decoder { trail: Trail::default(), options };
    d.value(raw, ty)
}

/// One level of a JSON document; what it contains is still unparsed text.
enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's text exactly as written (serde_json has checked it against the JSON grammar).
    Number(&'a str),
    String(String),
    Array(Vec<&'a RawValue>),
    Object(BTreeMap<String, &'a RawValue>),
}

impl<'a> Json<'a> {
    fn of(raw: &'a RawValue) -> Result<Json<'a>, serde_json::Error> {
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'n') => Json::Null,
            Some(b't' | b'f') => Json::Bool(serde_json::from_str(text)?),
            Some(b'"') => Json::String(serde_json::from_str(text)?),
            Some(b'[') => Json::Array(serde_json::from_str(text)?),
            Some(b'{') => Json::Object(serde_json::from_str(text)?),
            _ => Json::Number(text),
        })
    }
}

/// Encodes a wholly known `value` as cty JSON of type `ty`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut e = Encoder { out: String::new(), trail: Trail::default() };
    e.value(value, ty)?;
    Ok(e.out.into_bytes())
}

struct Decoder {
    trail: Trail,
    options: DecodeOptions,
}

impl Walk for Decoder {
    type Error = DecodeError;
    fn trail(&self) -> &Trail {
        &self.trail
    }
    fn trail_mut(&mut self) -> &mut Trail {
        &mut self.trail
    }
}

impl Decoder {
    fn value(&mut self, raw: &RawValue, ty: &Type) -> Result<Value, DecodeError> {
        let json = &Json::of(raw).map_err(|e| self.err(format!("invalid JSON: {e}")))?;
        if let Json::Null = json {
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.nested(|d| d.dynamic(json)),
            Type::Bool => match json {
                Json::Bool(b) => Ok(Value::Bool(*b)),
                Json::String(s) if s == "true" || s == "1" => Ok(Value::Bool(true)),
                Json::String(s) if s == "false" || s == "0" => Ok(Value::Bool(false)),
                _ => Err(self.err("bool is required")),
            },
            Type::Number => {
                let text = match json {
                    Json::Number(text) => text,
                    Json::String(text) => text.as_str(),
                    _ => return Err(self.err("number is required")),
                };
                Number::parse(text).map(Value::Number).map_err(|e| self.err(format!("number is required: {e}")))
            }
            Type::String => match json {
                Json::String(s) => Ok(Value::String(s.clone())),
                Json::Number(s) => Ok(Value::String(s.to_string())),
                Json::Bool(b) => Ok(Value::String(b.to_string())),
                _ => Err(self.err("string is required")),
            },
            Type::List(et) => self.nested(|d| d.elements(json, et, "a list")).map(Value::List),
            Type::Set(et) => self.nested(|d| d.elements(json, et, "a set")).map(Value::Set),
            Type::Tuple(ets) => self.nested(|d| d.tuple(json, ets)).map(Value::Tuple),
            Type::Map(et) => self.nested(|d| d.map(json, et)).map(Value::Map),
            Type::Object(attrs) => self.nested(|d| d.object(json, attrs)).map(Value::Object),
        }
    }

    fn elements(&mut self, json: &Json, et: &Type, what: &str) -> Result<Vec<Value>, DecodeError> {
        let Json::Array(items) = json else {
            return Err(self.err(format!("{what} is required (a JSON array)")));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.with_step(PathStep::Index(i as u64), |d| d.value(item, et))?);
        }
        Ok(out)
    }

    fn tuple(&mut self, json: &Json, ets: &[Type]) -> Result<Vec<Value>, DecodeError> {
        let Json::Array(items) = json else {
            return Err(self.err("a tuple is required (a JSON array)"));
        };
        if items.len() != ets.len() {
            return Err(self.err(format!("a tuple of length {} is required ({} given)", ets.len(), items.len())));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, (item, et)) in items.iter().zip(ets).enumerate() {
            out.push(self.with_step(PathStep::Index(i as u64), |d| d.value(item, et))?);
        }
        Ok(out)
    }

    fn map(&mut self, json: &Json, et: &Type) -> Result<BTreeMap<String, Value>, DecodeError> {
        let Json::Object(entries) = json else {
            return Err(self.err("a map is required (a JSON object)"));
        };
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let value = self.with_step(PathStep::Key(k.clone()), |d| d.value(v, et))?;
            out.insert(k.clone(), value); // last duplicate wins, as with Go's decoder
        }
        Ok(out)
    }

    fn object(&mut self, json: &Json, attrs: &BTreeMap<String, Type>) -> Result<BTreeMap<String, Value>, DecodeError> {
        let Json::Object(entries) = json else {
            return Err(self.err("an object is required (a JSON object)"));
        };
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let Some(aty) = attrs.get(k) else {
                if self.options.ignore_undefined_attributes {
                    continue;
                }
                return Err(self.err(format!("unsupported attribute {k:?}")));
            };
            let value = self.with_step(PathStep::Attr(k.clone()), |d| d.value(v, aty))?;
            out.insert(k.clone(), value);
        }
        for k in attrs.keys() {
            if !out.contains_key(k) {
                out.insert(k.clone(), Value::Null);
            }
        }
        Ok(out)
    }

    fn dynamic(&mut self, json: &Json) -> Result<Value, DecodeError> {
        let Json::Object(entries) = json else {
            return Err(self.err("a dynamically-typed value is required ({\"value\": ..., \"type\": ...})"));
        };
        let (mut ty, mut value) = (None, None);
        for (k, v) in entries {
            match k.as_str() {
                "type" => ty = Some(Type::from_json_bytes(v.get().as_bytes()).map_err(|e| self.err(e.to_string()))?),
                "value" => value = Some(v),
                other => return Err(self.err(format!("invalid key {other:?} in dynamically-typed value"))),
            }
        }
        let ty = ty.ok_or_else(|| self.err("missing type in dynamically-typed value"))?;
        let value = value.ok_or_else(|| self.err("missing value in dynamically-typed value"))?;
        self.value(value, &ty)
    }
}

struct Encoder {
    out: String,
    trail: Trail,
}

impl Walk for Encoder {
    type Error = EncodeError;
    fn trail(&self) -> &Trail {
        &self.trail
    }
    fn trail_mut(&mut self) -> &mut Trail {
        &mut self.trail
    }
}

impl Encoder {
    fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        let quoted = serde_json::to_string(s).map_err(|e| self.err(e.to_string()))?;
        self.out.push_str(&quoted);
        Ok(())
    }

    fn value(&mut self, value: &Value, ty: &Type) -> Result<(), EncodeError> {
        match (ty, value) {
            (_, Value::Unknown) => return Err(self.err("value is not known")),
            (_, Value::Null) => self.out.push_str("null"),
            (Type::Dynamic, v) => {
                let concrete = v.implied_type().ok_or_else(|| self.err("collection elements have inconsistent types"))?;
                self.nested(|e| {
                    e.out.push_str("{\"value\":");
                    e.value(v, &concrete)?;
                    e.out.push_str(",\"type\":");
                    e.out.push_str(&concrete.to_json_string());
                    e.out.push('}');
                    Ok(())
                })?;
            }
            (Type::Bool, Value::Bool(b)) => self.out.push_str(if *b { "true" } else { "false" }),
            (Type::Number, Value::Number(n)) => {
                if n.is_finite() {
                    self.out.push_str(&n.to_string());
                } else {
                    self.str(&n.to_string())?;
                }
            }
            (Type::String, Value::String(s)) => self.str(s)?,
            (Type::List(et), Value::List(items)) | (Type::Set(et), Value::Set(items)) => self.nested(|e| {
                e.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        e.out.push(',');
                    }
                    e.with_step(PathStep::Index(i as u64), |e| e.value(item, et))?;
                }
                e.out.push(']');
                Ok(())
            })?,
            (Type::Tuple(ets), Value::Tuple(items)) => {
                if ets.len() != items.len() {
                    return Err(self.err(format!("tuple has {} elements, its type {}", items.len(), ets.len())));
                }
                self.nested(|e| {
                    e.out.push('[');
                    for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                        if i > 0 {
                            e.out.push(',');
                        }
                        e.with_step(PathStep::Index(i as u64), |e| e.value(item, et))?;
                    }
                    e.out.push(']');
                    Ok(())
                })?;
            }
            (Type::Map(et), Value::Map(entries)) => self.nested(|e| {
                e.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        e.out.push(',');
                    }
                    e.with_step(PathStep::Key(k.clone()), |e| {
                        e.str(k)?;
                        e.out.push(':');
                        e.value(v, et)
                    })?;
                }
                e.out.push('}');
                Ok(())
            })?,
            (Type::Object(attrs), Value::Object(values)) => {
                check_object_keys(attrs, values).map_err(|m| self.err(m))?;
                self.nested(|e| {
                    e.out.push('{');
                    for (i, ((k, aty), v)) in attrs.iter().zip(values.values()).enumerate() {
                        if i > 0 {
                            e.out.push(',');
                        }
                        e.with_step(PathStep::Attr(k.clone()), |e| {
                            e.str(k)?;
                            e.out.push(':');
                            e.value(v, aty)
                        })?;
                    }
                    e.out.push('}');
                    Ok(())
                })?;
            }
            (ty, v) => return Err(self.err(format!("{} is required, got {}", ty.friendly_name(), kind(v)))),
        }
        Ok(())
    }
}
