//! The msgpack encoding of cty values, byte-compatible with go-cty's `cty/msgpack` package.
//! The bytes are read and written with `rmp`; this module adds what they mean as cty values.
//!
//! Wire rules (from go-cty `marshal.go`, `unmarshal.go`, `unknown.go`, `dynamic.go`):
//! - null is `nil`; unknown is *any* extension value on read and `fixext1` type 0 (`d4 00 00`) on
//!   write. Refined unknowns (extension 12 with a msgpack map payload) are read as plain unknowns.
//! - objects are maps holding every attribute (written in sorted key order); maps are maps;
//!   lists, sets and tuples are arrays.
//! - numbers: read from every int/uint width, f32/f64, and decimal strings (str or bin); written as
//!   the most compact int when the value fits `i64`, else an f64 when exactly representable
//!   (so 2^63 is an f64, as go-cty writes it), else decimal text.
//! - `dynamic`: an unknown is the bare extension, a null the bare `nil`, anything else the 2-array
//!   `[type JSON (bin), value encoded as that type]`.
//!
//! Stricter than go-cty, on purpose: trailing bytes after the value, a wrong tuple length, object
//! maps that are empty for a non-empty object type, duplicate object keys, NaN, and invalid UTF-8
//! strings are errors (go-cty accepts some of these and builds ill-typed values).

use std::collections::BTreeMap;

use rmp::decode::bytes::BytesReadError;
use rmp::decode::{Bytes, NumValueReadError, ValueReadError};
use rmp::Marker;

use super::number::Wire;
use super::{check_object_keys, kind, DecodeError, EncodeError, Number, Path, PathStep, Trail, Type, Value, Walk};

/// The unknown value as go-cty writes it: fixext1, type 0, one zero byte.
pub const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Decodes a msgpack `DynamicValue` against `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let mut d = Decoder { rd: Bytes::new(bytes), trail: Trail::default() };
    let value = d.value(ty)?;
    let rest = d.rd.remaining_slice().len();
    if rest != 0 {
        return Err(DecodeError { path: Path::default(), message: format!("{rest} unexpected bytes after the value") });
    }
    Ok(value)
}

/// Encodes `value` as msgpack for a `DynamicValue` of type `ty`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut e = Encoder { out: Vec::new(), trail: Trail::default() };
    e.value(value, ty)?;
    Ok(e.out)
}

/// Reads with `rmp::decode`; what it adds is the cty meaning of each marker, the path for
/// messages and the depth bound.
struct Decoder<'a> {
    rd: Bytes<'a>,
    trail: Trail,
}

impl Walk for Decoder<'_> {
    type Error = DecodeError;
    fn trail(&self) -> &Trail {
        &self.trail
    }
    fn trail_mut(&mut self) -> &mut Trail {
        &mut self.trail
    }
}

impl<'a> Decoder<'a> {
    /// The next marker, not consumed: the `rmp::decode` readers below read it again.
    fn peek(&self) -> Result<Marker, DecodeError> {
        self.rd.remaining_slice().first().map(|b| Marker::from_u8(*b)).ok_or_else(|| self.err("unexpected end of msgpack data"))
    }

    /// Maps an rmp read error: a truncated input, or a marker other than `what`.
    fn read<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Bytes<'a>) -> Result<T, ValueReadError<BytesReadError>>,
    ) -> Result<T, DecodeError> {
        f(&mut self.rd).map_err(|e| match e {
            ValueReadError::TypeMismatch(_) => self.err(format!("{what} is required")),
            ValueReadError::InvalidMarkerRead(e) | ValueReadError::InvalidDataRead(e) => self.truncated(&e),
        })
    }

    fn truncated(&self, e: &BytesReadError) -> DecodeError {
        match e {
            BytesReadError::InsufficientBytes { expected, actual, .. } => {
                self.err(format!("msgpack data truncated: {expected} bytes needed, {actual} left"))
            }
            other => self.err(format!("invalid msgpack data: {other}")),
        }
    }

    fn take(&mut self, len: u32) -> Result<&'a [u8], DecodeError> {
        let rest = self.rd.remaining_slice();
        // usize is at least 32 bits on every target this provider builds for.
        let n = len as usize;
        if n > rest.len() {
            return Err(self.err(format!("msgpack data truncated: {n} bytes needed, {} left", rest.len())));
        }
        let (taken, rest) = rest.split_at(n);
        self.rd = Bytes::new(rest);
        Ok(taken)
    }

    /// Skips an extension value if one is next; go-cty treats every extension as unknown.
    fn skip_ext(&mut self) -> Result<bool, DecodeError> {
        if !matches!(
            self.peek()?,
            Marker::FixExt1
                | Marker::FixExt2
                | Marker::FixExt4
                | Marker::FixExt8
                | Marker::FixExt16
                | Marker::Ext8
                | Marker::Ext16
                | Marker::Ext32
        ) {
            return Ok(false);
        }
        // Type 0 for plain unknowns, 12 for refined ones; the payload (refinements) is ignored.
        let meta = self.read("extension", rmp::decode::read_ext_meta)?;
        self.take(meta.size)?;
        Ok(true)
    }

    /// A str or bin payload (go-cty's decoder accepts either wherever it wants a string).
    fn raw_str(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = match self.peek()? {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => self.read("string", rmp::decode::read_str_len)?,
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => self.read("string", rmp::decode::read_bin_len)?,
            _ => return Ok(None),
        };
        self.take(len).map(Some)
    }

    fn string(&mut self, what: &str) -> Result<String, DecodeError> {
        let raw = self.raw_str()?.ok_or_else(|| self.err(format!("{what} is required")))?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        if self.skip_ext()? {
            return Ok(Value::Unknown);
        }
        if self.peek()? == Marker::Null {
            self.take(1)?;
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.nested(|d| d.dynamic()),
            Type::Bool => self.read("bool", rmp::decode::read_bool).map(Value::Bool),
            Type::Number => self.number().map(Value::Number),
            Type::String => self.string("string").map(Value::String),
            Type::List(et) => self.nested(|d| d.elements(et, "a list")).map(Value::List),
            Type::Set(et) => self.nested(|d| d.elements(et, "a set")).map(Value::Set),
            Type::Tuple(ets) => self.nested(|d| d.tuple(ets)).map(Value::Tuple),
            Type::Map(et) => self.nested(|d| d.map(et)).map(Value::Map),
            Type::Object(attrs) => self.nested(|d| d.object(attrs)).map(Value::Object),
        }
    }

    fn number(&mut self) -> Result<Number, DecodeError> {
        let n = match self.peek()? {
            // uint64 beyond i64: as go-cty reads it, the exact value.
            Marker::U64 => Number::from(self.read("number", rmp::decode::read_u64)?),
            Marker::FixPos(_)
            | Marker::FixNeg(_)
            | Marker::U8
            | Marker::U16
            | Marker::U32
            | Marker::I8
            | Marker::I16
            | Marker::I32
            | Marker::I64 => match rmp::decode::read_int::<i64, _>(&mut self.rd) {
                Ok(i) => Number::from(i),
                Err(NumValueReadError::InvalidMarkerRead(e) | NumValueReadError::InvalidDataRead(e)) => return Err(self.truncated(&e)),
                Err(_) => return Err(self.err("number is required")),
            },
            Marker::F32 => {
                let f = self.read("number", rmp::decode::read_f32)?;
                self.float(f64::from(f))?
            }
            Marker::F64 => {
                let f = self.read("number", rmp::decode::read_f64)?;
                self.float(f)?
            }
            _ => {
                let raw = self.raw_str()?.ok_or_else(|| self.err("number is required"))?;
                let text = std::str::from_utf8(raw).map_err(|_| self.err("number is required"))?;
                Number::parse(text).map_err(|e| self.err(format!("number is required: {e}")))?
            }
        };
        Ok(n)
    }

    fn float(&self, f: f64) -> Result<Number, DecodeError> {
        Number::from_f64(f).ok_or_else(|| self.err("number is required (NaN is not a number)"))
    }

    fn array_len(&mut self, what: &str) -> Result<u32, DecodeError> {
        self.read(what, rmp::decode::read_array_len)
    }

    fn map_len(&mut self, what: &str) -> Result<u32, DecodeError> {
        self.read(what, rmp::decode::read_map_len)
    }

    fn elements(&mut self, et: &Type, what: &str) -> Result<Vec<Value>, DecodeError> {
        let len = self.array_len(what)?;
        // No pre-allocation by the untrusted length: each element needs at least one byte, so a
        // bogus length fails at the end of the input instead.
        let mut out = Vec::new();
        for i in 0..u64::from(len) {
            out.push(self.with_step(PathStep::Index(i), |d| d.value(et))?);
        }
        Ok(out)
    }

    fn tuple(&mut self, ets: &[Type]) -> Result<Vec<Value>, DecodeError> {
        let len = self.array_len("a tuple")? as usize;
        if len != ets.len() {
            return Err(self.err(format!("a tuple of length {} is required ({len} given)", ets.len())));
        }
        let mut out = Vec::with_capacity(len);
        for (i, et) in ets.iter().enumerate() {
            out.push(self.with_step(PathStep::Index(i as u64), |d| d.value(et))?);
        }
        Ok(out)
    }

    fn map(&mut self, et: &Type) -> Result<BTreeMap<String, Value>, DecodeError> {
        let len = self.map_len("a map")?;
        let mut out = BTreeMap::new();
        for _ in 0..len {
            let key = self.string("map key as string")?;
            let value = self.with_step(PathStep::Key(key.clone()), |d| d.value(et))?;
            out.insert(key, value); // a repeated key replaces the earlier one, as in go-cty
        }
        Ok(out)
    }

    fn object(&mut self, attrs: &BTreeMap<String, Type>) -> Result<BTreeMap<String, Value>, DecodeError> {
        let len = self.map_len("an object")?;
        let mut out = BTreeMap::new();
        for _ in 0..len {
            let key = self.string("attribute name as string")?;
            let Some(aty) = attrs.get(&key) else {
                return Err(self.err(format!("unsupported attribute {key:?}")));
            };
            if out.contains_key(&key) {
                return Err(self.err(format!("duplicate attribute {key:?}")));
            }
            let value = self.with_step(PathStep::Attr(key.clone()), |d| d.value(aty))?;
            out.insert(key, value);
        }
        if let Some(missing) = attrs.keys().find(|k| !out.contains_key(*k)) {
            return Err(self.err(format!("missing attribute {missing:?}")));
        }
        Ok(out)
    }

    fn dynamic(&mut self) -> Result<Value, DecodeError> {
        let len = self.array_len("a dynamic value ([type, value] array)")?;
        if len != 2 {
            return Err(self.err("dynamic value array must have exactly two elements"));
        }
        let raw = self.raw_str()?.ok_or_else(|| self.err("dynamic value type must be JSON bytes"))?;
        let ty = Type::from_json_bytes(raw).map_err(|e| self.err(e.to_string()))?;
        self.value(&ty)
    }
}

struct Encoder {
    out: Vec<u8>,
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
    fn len32(&self, len: usize) -> Result<u32, EncodeError> {
        u32::try_from(len).map_err(|_| self.err("too long for msgpack"))
    }

    fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        let len = self.len32(s.len())?;
        rmp::encode::write_str_len(&mut self.out, len).map_err(|e| self.err(e.to_string()))?;
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn array_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = self.len32(len)?;
        rmp::encode::write_array_len(&mut self.out, len).map_err(|e| self.err(e.to_string()))?;
        Ok(())
    }

    fn map_len(&mut self, len: usize) -> Result<(), EncodeError> {
        let len = self.len32(len)?;
        rmp::encode::write_map_len(&mut self.out, len).map_err(|e| self.err(e.to_string()))?;
        Ok(())
    }

    fn value(&mut self, value: &Value, ty: &Type) -> Result<(), EncodeError> {
        match (ty, value) {
            (_, Value::Unknown) => self.out.extend_from_slice(&UNKNOWN),
            (_, Value::Null) => self.out.push(0xc0),
            (Type::Dynamic, v) => {
                let concrete = v.implied_type().ok_or_else(|| self.err("collection elements have inconsistent types"))?;
                let type_json = concrete.to_json_string();
                self.nested(|e| {
                    e.array_len(2)?;
                    let len = e.len32(type_json.len())?;
                    rmp::encode::write_bin_len(&mut e.out, len).map_err(|err| e.err(err.to_string()))?;
                    e.out.extend_from_slice(type_json.as_bytes());
                    e.value(v, &concrete)
                })?;
            }
            (Type::Bool, Value::Bool(b)) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            (Type::Number, Value::Number(n)) => match n.wire() {
                Wire::Int(i) => {
                    rmp::encode::write_sint(&mut self.out, i).map_err(|e| self.err(e.to_string()))?;
                }
                Wire::F64(f) => {
                    rmp::encode::write_f64(&mut self.out, f).map_err(|e| self.err(e.to_string()))?;
                }
                Wire::Text(t) => self.str(&t)?,
            },
            (Type::String, Value::String(s)) => self.str(s)?,
            (Type::List(et), Value::List(items)) | (Type::Set(et), Value::Set(items)) => self.nested(|e| {
                e.array_len(items.len())?;
                for (i, item) in items.iter().enumerate() {
                    e.with_step(PathStep::Index(i as u64), |e| e.value(item, et))?;
                }
                Ok(())
            })?,
            (Type::Tuple(ets), Value::Tuple(items)) => {
                if ets.len() != items.len() {
                    return Err(self.err(format!("tuple has {} elements, its type {}", items.len(), ets.len())));
                }
                self.nested(|e| {
                    e.array_len(items.len())?;
                    for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                        e.with_step(PathStep::Index(i as u64), |e| e.value(item, et))?;
                    }
                    Ok(())
                })?;
            }
            (Type::Map(et), Value::Map(entries)) => self.nested(|e| {
                e.map_len(entries.len())?;
                for (k, v) in entries {
                    e.with_step(PathStep::Key(k.clone()), |e| {
                        e.str(k)?;
                        e.value(v, et)
                    })?;
                }
                Ok(())
            })?,
            (Type::Object(attrs), Value::Object(values)) => {
                check_object_keys(attrs, values).map_err(|m| self.err(m))?;
                self.nested(|e| {
                    e.map_len(attrs.len())?;
                    // Both maps are sorted and hold the same keys: go-cty's sorted order.
                    for ((k, aty), v) in attrs.iter().zip(values.values()) {
                        e.with_step(PathStep::Attr(k.clone()), |e| {
                            e.str(k)?;
                            e.value(v, aty)
                        })?;
                    }
                    Ok(())
                })?;
            }
            (ty, v) => return Err(self.err(format!("{} is required, got {}", ty.friendly_name(), kind(v)))),
        }
        Ok(())
    }
}
