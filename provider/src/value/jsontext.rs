//! A small strict JSON reader that keeps number text verbatim.
//!
//! serde_json (without its `arbitrary_precision` feature, which this workspace does not enable)
//! turns `12345678901234567890123` into an f64; cty state must keep it exact. Parsing ourselves
//! also bounds nesting and keeps duplicate object keys visible.

use serde_json::Value as SerdeJson;

#[derive(Debug, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    /// The number's text exactly as written (already checked against the JSON grammar).
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Entries in document order, duplicates kept.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The same document as a serde_json value (numbers become null: type JSON has none).
    pub(super) fn to_serde(&self) -> SerdeJson {
        match self {
            Json::Null | Json::Number(_) => SerdeJson::Null,
            Json::Bool(b) => SerdeJson::Bool(*b),
            Json::String(s) => SerdeJson::String(s.clone()),
            Json::Array(items) => SerdeJson::Array(items.iter().map(Json::to_serde).collect()),
            Json::Object(entries) => SerdeJson::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect()),
        }
    }
}

/// Parses one JSON document (surrounding whitespace allowed), nesting at most `max_depth` levels.
pub(super) fn parse(bytes: &[u8], max_depth: usize) -> Result<Json, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let mut p = Parser { s: text, b: bytes, i: 0, max_depth };
    p.ws();
    let value = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.fail("unexpected data after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> String {
        format!("invalid JSON at byte {}: {what}", self.i)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.fail("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        match self.b.get(self.i) {
            None => Err(self.fail("unexpected end of input")),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                if depth >= self.max_depth {
                    return Err(self.fail("nesting too deep"));
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']') {
                    return Ok(Json::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b']') {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.fail("expected ',' or ']'"));
                    }
                }
            }
            Some(b'{') => {
                if depth >= self.max_depth {
                    return Err(self.fail("nesting too deep"));
                }
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.eat(b'}') {
                    return Ok(Json::Object(entries));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.fail("expected an object key"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err(self.fail("expected ':'"));
                    }
                    self.ws();
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(Json::Object(entries));
                    }
                    if !self.eat(b',') {
                        return Err(self.fail("expected ',' or '}'"));
                    }
                }
            }
            Some(_) => Err(self.fail("unexpected character")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        self.eat(b'-');
        if self.eat(b'0') {
            if matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.fail("leading zero in number"));
            }
        } else if self.digits() == 0 {
            return Err(self.fail("expected digits"));
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(self.fail("expected digits after '.'"));
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(self.fail("expected exponent digits"));
            }
        }
        Ok(Json::Number(self.s[start..self.i].to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self.b.get(self.i..self.i + 4).ok_or_else(|| self.fail("truncated \\u escape"))?;
        let mut v = 0u32;
        for &h in hex {
            let d = char::from(h).to_digit(16).ok_or_else(|| self.fail("bad \\u escape"))?;
            v = v * 16 + d;
        }
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let run = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Stops only at ASCII bytes, so the slice is on char boundaries.
            out.push_str(&self.s[run..self.i]);
            match self.b.get(self.i) {
                None => return Err(self.fail("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let esc = *self.b.get(self.i).ok_or_else(|| self.fail("unterminated string"))?;
                    self.i += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&hi) && self.b.get(self.i..self.i + 2) == Some(b"\\u") {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                                } else {
                                    self.i = save; // not a pair: the second escape stands alone
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            // Lone surrogates become U+FFFD, as Go's encoding/json does.
                            out.push(c.unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.fail("bad escape")),
                    }
                }
                Some(_) => return Err(self.fail("control character in string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_number_text() {
        let j = parse(br#" {"a": [1, -0.5e+3, 12345678901234567890123], "b": "x\u00e9\ud83d\ude00\ud800", "a": null} "#, 8).unwrap();
        assert_eq!(
            j,
            Json::Object(vec![
                (
                    "a".into(),
                    Json::Array(vec![
                        Json::Number("1".into()),
                        Json::Number("-0.5e+3".into()),
                        Json::Number("12345678901234567890123".into())
                    ])
                ),
                ("b".into(), Json::String("xé😀\u{fffd}".into())),
                ("a".into(), Json::Null),
            ])
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..],
            b"01",
            b"1.",
            b".5",
            b"-",
            b"+1",
            b"[1,]",
            b"{\"a\"}",
            b"{a:1}",
            b"\"\x01\"",
            b"\"abc",
            b"nul",
            b"[1] 2",
            b"\"\\x\"",
            b"\xff",
            b"1e",
            b"NaN",
        ] {
            assert!(parse(bad, 8).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(b"[[[]]]", 3).is_ok());
        assert!(parse(b"[[[[]]]]", 3).is_err());
    }
}
