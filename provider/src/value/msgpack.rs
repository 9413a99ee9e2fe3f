//! The msgpack encoding of cty values, byte-compatible with go-cty's `cty/msgpack` package.
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

use super::number::Wire;
use super::{check_object_keys, kind, DecodeError, EncodeError, Number, Path, PathStep, Trail, Type, Value, Walk};

/// The unknown value as go-cty writes it: fixext1, type 0, one zero byte.
pub const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Decodes a msgpack `DynamicValue` against `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let mut d = Decoder { buf: bytes, pos: 0, trail: Trail::default() };
    let value = d.value(ty)?;
    if d.pos != bytes.len() {
        return Err(DecodeError { path: Path::default(), message: format!("{} unexpected bytes after the value", bytes.len() - d.pos) });
    }
    Ok(value)
}

/// Encodes `value` as msgpack for a `DynamicValue` of type `ty`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut e = Encoder { out: Vec::new(), trail: Trail::default() };
    e.value(value, ty)?;
    Ok(e.out)
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
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
    fn peek(&self) -> Result<u8, DecodeError> {
        self.buf.get(self.pos).copied().ok_or_else(|| self.err("unexpected end of msgpack data"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(self.err(format!("msgpack data truncated: {n} bytes needed, {available} left")));
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u16(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_be_bytes(self.be()?)))
    }

    fn u32(&mut self) -> Result<usize, DecodeError> {
        // usize is at least 32 bits on every target this provider builds for.
        Ok(u32::from_be_bytes(self.be()?) as usize)
    }

    /// Skips an extension value if one is next; go-cty treats every extension as unknown.
    fn skip_ext(&mut self) -> Result<bool, DecodeError> {
        let marker = self.peek()?;
        let len = match marker {
            // fixext 1, 2, 4, 8, 16
            0xd4..=0xd8 => {
                self.pos += 1;
                1usize << (marker - 0xd4)
            }
            0xc7 => {
                self.pos += 1;
                usize::from(self.byte()?)
            }
            0xc8 => {
                self.pos += 1;
                self.u16()?
            }
            0xc9 => {
                self.pos += 1;
                self.u32()?
            }
            _ => return Ok(false),
        };
        self.take(1)?; // extension type: 0 for plain unknowns, 12 for refined ones
        self.take(len)?; // payload (refinements) ignored
        Ok(true)
    }

    fn array_len(&mut self, what: &str) -> Result<usize, DecodeError> {
        match self.peek()? {
            b @ 0x90..=0x9f => {
                self.pos += 1;
                Ok(usize::from(b & 0x0f))
            }
            0xdc => {
                self.pos += 1;
                self.u16()
            }
            0xdd => {
                self.pos += 1;
                self.u32()
            }
            _ => Err(self.err(format!("{what} is required"))),
        }
    }

    fn map_len(&mut self, what: &str) -> Result<usize, DecodeError> {
        match self.peek()? {
            b @ 0x80..=0x8f => {
                self.pos += 1;
                Ok(usize::from(b & 0x0f))
            }
            0xde => {
                self.pos += 1;
                self.u16()
            }
            0xdf => {
                self.pos += 1;
                self.u32()
            }
            _ => Err(self.err(format!("{what} is required"))),
        }
    }

    /// A str or bin payload (go-cty's decoder accepts either wherever it wants a string).
    fn raw_str(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = match self.peek()? {
            b @ 0xa0..=0xbf => {
                self.pos += 1;
                usize::from(b & 0x1f)
            }
            0xd9 | 0xc4 => {
                self.pos += 1;
                usize::from(self.byte()?)
            }
            0xda | 0xc5 => {
                self.pos += 1;
                self.u16()?
            }
            0xdb | 0xc6 => {
                self.pos += 1;
                self.u32()?
            }
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
        if self.peek()? == 0xc0 {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.nested(|d| d.dynamic()),
            Type::Bool => match self.byte()? {
                0xc2 => Ok(Value::Bool(false)),
                0xc3 => Ok(Value::Bool(true)),
                _ => {
                    self.pos -= 1;
                    Err(self.err("bool is required"))
                }
            },
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
        let marker = self.byte()?;
        let n = match marker {
            0x00..=0x7f => Number::from(i64::from(marker)),
            0xe0..=0xff => Number::from(i64::from(marker as i8)),
            0xcc => Number::from(u64::from(self.byte()?)),
            0xcd => Number::from(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => Number::from(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => Number::from(u64::from_be_bytes(self.be()?)),
            0xd0 => Number::from(i64::from(self.byte()? as i8)),
            0xd1 => Number::from(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Number::from(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Number::from(i64::from_be_bytes(self.be()?)),
            0xca | 0xcb => {
                let f = if marker == 0xca { f64::from(f32::from_be_bytes(self.be()?)) } else { f64::from_be_bytes(self.be()?) };
                Number::from_f64(f).ok_or_else(|| self.err("number is required (NaN is not a number)"))?
            }
            _ => {
                self.pos -= 1;
                let raw = self.raw_str()?.ok_or_else(|| self.err("number is required"))?;
                let text = std::str::from_utf8(raw).map_err(|_| self.err("number is required"))?;
                Number::parse(text).map_err(|e| self.err(format!("number is required: {e}")))?
            }
        };
        Ok(n)
    }

    fn elements(&mut self, et: &Type, what: &str) -> Result<Vec<Value>, DecodeError> {
        let len = self.array_len(what)?;
        // No pre-allocation by the untrusted length: each element needs at least one byte, so a
        // bogus length fails at the end of the input instead.
        let mut out = Vec::new();
        for i in 0..len {
            out.push(self.with_step(PathStep::Index(i as u64), |d| d.value(et))?);
        }
        Ok(out)
    }

    fn tuple(&mut self, ets: &[Type]) -> Result<Vec<Value>, DecodeError> {
        let len = self.array_len("a tuple")?;
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
