//! cty numbers, sized to what this provider's schemas hold.
//!
//! cty numbers are arbitrary-precision (`big.Float`, 512-bit mantissa), and go-cty sends them as
//! whichever msgpack form is exact: a compact int, an f64, or a decimal string. The schemas here
//! hold only whole numbers that fit `i64` (weights, percentages, TTLs, priorities, counts) and a
//! few `f64` thresholds (`health_gate.error_rate.max_percent`). So [`Number`] does no arithmetic
//! of its own: it is an `i64`, an `f64`, or (for anything neither can hold exactly, such as `0.1`
//! or an integer beyond `i64`) the decimal text Terraform sent, kept verbatim in canonical form.
//! That is enough to hand every number back to Terraform unchanged (a planned value must equal
//! the configuration exactly) and to name an out-of-range number exactly in a diagnostic; the
//! typed models then take `i64`/`f64` from it, and a value that does not fit is a validation error.
//!
//! The form is normalised so that derived equality is numeric equality: a value that fits `i64`
//! is always `Int`, one that is exactly an `f64` is `Float`, anything else `Decimal`. Deciding
//! "exactly an `f64`" compares the text with the float's exact expansion, which Rust's formatter
//! prints ([`exact_digits`]).

use std::fmt;
use std::str::FromStr;

/// Largest decimal exponent accepted when parsing. `big.Float` overflows long before this, so
/// nothing legitimate is lost; it keeps exponent arithmetic far from `i64` overflow.
const MAX_PARSE_EXPONENT: i64 = 1_000_000_000;

/// Above this many characters the plain (`f`-style) rendering switches to `<digits>e<exp>`, so that a
/// tiny input such as `"1e100000000"` cannot expand into a huge string.
const MAX_PLAIN_LEN: i64 = 4096;

/// Significant digits of the longest exact decimal expansion of an `f64` (a subnormal's).
const F64_MAX_DIGITS: usize = 767;

/// A cty number. Equality is numeric (`1`, `1.0` and `"1e0"` are equal), except that a decimal
/// and the nearest `f64` are *different* numbers (as in cty: `"0.8"` ≠ `0.8f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Number(Repr);

// Invariants (they make derived PartialEq numeric):
// - Int: any i64.
// - Float: never NaN, never an integer within i64 range (those are Int), may be ±inf.
// - Decimal: never exactly representable as either of the above.
#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Int(i64),
    Float(f64),
    Decimal(Decimal),
}

/// |value| = digits × 10^exp, digits non-empty ASCII with no leading or trailing zeros: the text
/// as sent, in canonical form. Nothing computes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exp: i64,
}

impl Eq for Number {}

/// Why a string is not a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseNumberError(String);

impl fmt::Display for ParseNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseNumberError {}

/// How go-cty's msgpack encoder writes a number (see `cty/msgpack/marshal.go`): an int when it fits
/// `i64`, else an f64 when exact (including ±inf), else the decimal text.
pub(super) enum Wire {
    Int(i64),
    F64(f64),
    Text(String),
}

impl Number {
    /// The number `f`, or `None` for NaN (cty has no NaN).
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        // 2^63 is an exact f64; the comparison is exact.
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        if f.is_finite() && f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
            // Exact: f is an integer in range. Also folds -0.0 into 0, as go-cty's int path does.
            return Some(Number(Repr::Int(f as i64)));
        }
        Some(Number(Repr::Float(f)))
    }

    /// Parses decimal text the way `cty.ParseNumberVal` (Go's `big.ParseFloat`, base 10) does:
    /// optional sign, digits with an optional fraction, optional `e`/`E` exponent, or `inf`/`Inf`.
    /// Binary (`p`) exponents and hex mantissas are not accepted.
    pub fn parse(s: &str) -> Result<Number, ParseNumberError> {
        let bad = || ParseNumberError(format!("{:?} is not a valid number", truncate(s)));
        let b = s.as_bytes();
        let (negative, mut i) = match b.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        if matches!(&s[i..], "inf" | "Inf") {
            let f = if negative { f64::NEG_INFINITY } else { f64::INFINITY };
            return Ok(Number(Repr::Float(f)));
        }
        let mut digits = String::new();
        let mut frac_digits: i64 = 0;
        let mut seen_dot = false;
        let mut seen_digit = false;
        while let Some(&c) = b.get(i) {
            match c {
                b'0'..=b'9' => {
                    seen_digit = true;
                    // Leading zeros carry no information; skipping them keeps `digits` short.
                    if !(digits.is_empty() && c == b'0') {
                        digits.push(char::from(c));
                    }
                    if seen_dot {
                        frac_digits += 1;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => break,
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad()); // empty, ".", "-", "e5", ...
        }
        let mut exp: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while let Some(&c) = b.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                exp = exp * 10 + i64::from(c - b'0');
                if exp > MAX_PARSE_EXPONENT {
                    return Err(ParseNumberError(format!("{:?}: exponent out of range", truncate(s))));
                }
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
            if exp_negative {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(bad());
        }
        Ok(Number::from_decimal_parts(negative, digits, exp - frac_digits))
    }

    /// Builds the canonical number for ±digits × 10^exp (digits: ASCII, no leading zeros).
    fn from_decimal_parts(negative: bool, mut digits: String, mut exp: i64) -> Number {
        let trimmed = digits.trim_end_matches('0').len();
        exp += (digits.len() - trimmed) as i64;
        digits.truncate(trimmed);
        if digits.is_empty() {
            return Number(Repr::Int(0));
        }
        let sign = if negative { "-" } else { "" };
        let n = digits.len() as i64;
        // At most 19 digits: i64's range, checked by its own parser.
        if exp >= 0 && n + exp <= 19 {
            if let Ok(i) = format!("{sign}{digits}{}", "0".repeat(exp as usize)).parse::<i64>() {
                return Number(Repr::Int(i));
            }
        }
        // Exactly an f64? Every finite f64 has at most 767 significant decimal digits and lies in
        // [4.9e-324, 1.8e308]; outside that it cannot be, and we skip the work.
        let top = n + exp; // value in [10^(top-1), 10^top)
        if digits.len() <= F64_MAX_DIGITS && (-323..=309).contains(&top) {
            let f = format!("{digits}e{exp}").parse::<f64>().unwrap_or(f64::NAN);
            if f.is_finite() && f != 0.0 && exact_digits(f) == (digits.clone(), exp) {
                return Number(Repr::Float(if negative { -f } else { f }));
            }
        }
        Number(Repr::Decimal(Decimal { negative, digits, exp }))
    }

    /// The value as `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The nearest `f64` (lossy for big or very precise numbers; ±inf when out of range).
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            Repr::Float(f) => *f,
            Repr::Decimal(d) => {
                let sign = if d.negative { "-" } else { "" };
                // Rust's float parser rounds correctly for inputs of any length.
                format!("{sign}{}e{}", d.digits, d.exp).parse().unwrap_or(f64::NAN)
            }
        }
    }

    /// Whether the number is a (finite) integer, whatever its size.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) => true,
            Repr::Float(f) => f.is_finite() && f.fract() == 0.0,
            Repr::Decimal(d) => d.exp >= 0,
        }
    }

    /// False only for ±infinity.
    pub fn is_finite(&self) -> bool {
        !matches!(self.0, Repr::Float(f) if f.is_infinite())
    }

    pub(super) fn wire(&self) -> Wire {
        match &self.0 {
            Repr::Int(i) => Wire::Int(*i),
            Repr::Float(f) => Wire::F64(*f),
            Repr::Decimal(d) => Wire::Text(format_decimal(d.negative, &d.digits, d.exp)),
        }
    }
}

impl fmt::Display for Number {
    /// Prints the exact value (`f64`s included, so `0.1f64` prints all 55 digits); infinities print as
    /// Go does, `+Inf`/`-Inf`. The text parses back to an equal [`Number`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 { "+Inf" } else { "-Inf" }),
            Repr::Float(x) => {
                let (digits, exp) = exact_digits(*x);
                f.write_str(&format_decimal(*x < 0.0, &digits, exp))
            }
            Repr::Decimal(d) => f.write_str(&format_decimal(d.negative, &d.digits, d.exp)),
        }
    }
}

impl FromStr for Number {
    type Err = ParseNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number(Repr::Int(i))
    }
}

impl From<u64> for Number {
    /// Beyond `i64`, the exact f64 or the decimal, as msgpack's uint64 form arrives.
    fn from(u: u64) -> Self {
        match i64::try_from(u) {
            Ok(i) => Number(Repr::Int(i)),
            Err(_) => Number::from_decimal_parts(false, u.to_string(), 0),
        }
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Number(Repr::Int(i64::from(i)))
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Self {
        Number(Repr::Int(i64::from(u)))
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Plain decimal text (Go's `Text('f', -1)` shape), or `<digits>e<exp>` when that would be huge.
fn format_decimal(negative: bool, digits: &str, exp: i64) -> String {
    let n = digits.len() as i64;
    let sign = if negative { "-" } else { "" };
    let point = n + exp; // digits before the decimal point
    if exp > MAX_PLAIN_LEN || -point > MAX_PLAIN_LEN {
        return format!("{sign}{digits}e{exp}");
    }
    if exp >= 0 {
        format!("{sign}{digits}{}", "0".repeat(exp as usize))
    } else if point > 0 {
        let (int, frac) = digits.split_at(point as usize);
        format!("{sign}{int}.{frac}")
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    }
}

/// The exact value of a finite, non-zero f64 as canonical (digits, exp), as in [`Decimal`]. At 767
/// significant digits Rust's formatter (exact, not shortest) prints every digit there is.
fn exact_digits(f: f64) -> (String, i64) {
    let text = format!("{:.*e}", F64_MAX_DIGITS - 1, f.abs());
    let (mantissa, e) = text.split_once('e').expect("`{:e}` prints an exponent");
    let e: i64 = e.parse().expect("`{:e}` prints a decimal exponent");
    // d.ddd…e<e> = ddd… × 10^(e - 766)
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let trimmed = digits.trim_end_matches('0').len();
    let exp = e - (F64_MAX_DIGITS as i64 - 1) + (digits.len() - trimmed) as i64;
    digits.truncate(trimmed);
    (digits, exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn normalisation_makes_equality_numeric() {
        assert_eq!(n("1"), Number::from(1i64));
        assert_eq!(n("1.0"), Number::from(1i64));
        assert_eq!(n("+1e0"), Number::from(1i64));
        assert_eq!(n("100e-2"), Number::from(1i64));
        assert_eq!(n("-0"), Number::from(0i64));
        assert_eq!(Number::from_f64(-0.0).unwrap(), Number::from(0i64));
        assert_eq!(Number::from_f64(3.0).unwrap(), Number::from(3i64));
        assert_eq!(n("1.5"), Number::from_f64(1.5).unwrap());
        assert_eq!(n("9223372036854775808"), Number::from(1u64 << 63));
        assert_eq!(Number::from_f64(9_223_372_036_854_775_808.0).unwrap(), Number::from(1u64 << 63));
        assert_eq!(n("-9223372036854775808"), Number::from(i64::MIN));
        assert_eq!(n("18446744073709551615"), Number::from(u64::MAX));
        // 0.8 is not an f64; the nearest f64 is a different number (as in cty).
        assert_ne!(n("0.8"), Number::from_f64(0.8).unwrap());
        assert_eq!(n("0.8000000000000000444089209850062616169452667236328125"), Number::from_f64(0.8).unwrap());
        assert_eq!(n("Inf"), Number::from_f64(f64::INFINITY).unwrap());
        assert_eq!(n("-inf"), Number::from_f64(f64::NEG_INFINITY).unwrap());
        assert!(Number::from_f64(f64::NAN).is_none());
        assert_eq!(n("1e400"), n("10e399"));
        assert_ne!(n("1e400"), n("1e401"));
    }

    #[test]
    fn accessors() {
        assert_eq!(n("42").as_i64(), Some(42));
        assert_eq!(n("-1").as_i64(), Some(-1));
        assert_eq!(n("9223372036854775807").as_i64(), Some(i64::MAX));
        assert_eq!(n("9223372036854775808").as_i64(), None);
        assert_eq!(n("18446744073709551615").as_i64(), None);
        assert_eq!(n("0.8").as_f64(), 0.8);
        assert_eq!(n("1e400").as_f64(), f64::INFINITY);
        assert_eq!(n("12345678901234567890123").as_f64(), 1.2345678901234568e22);
        assert!(n("1e400").is_integer());
        assert!(!n("0.5").is_integer());
        assert!(!n("-Inf").is_finite());
    }

    #[test]
    fn display_is_exact_and_reparses() {
        assert_eq!(n("12345678901234567890123").to_string(), "12345678901234567890123");
        assert_eq!(n("0.8").to_string(), "0.8");
        assert_eq!(n("-0.0012").to_string(), "-0.0012");
        assert_eq!(n("1e400").to_string(), format!("1{}", "0".repeat(400)));
        assert_eq!(n("1e100000").to_string(), "1e100000");
        assert_eq!(Number::from_f64(0.1).unwrap().to_string(), "0.1000000000000000055511151231257827021181583404541015625");
        assert_eq!(Number::from_f64(f64::MIN_POSITIVE * f64::EPSILON).unwrap().to_string().len(), 2 + 323 + 751);
        for s in ["0.1", "1e-400", "-5e-324", "4.9406564584124654e-324", "1.7976931348623157e308", "123.456"] {
            let a = n(s);
            assert_eq!(n(&a.to_string()), a, "{s}");
            let f = Number::from_f64(s.parse().unwrap()).unwrap();
            assert_eq!(n(&f.to_string()), f, "{s} as f64");
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in ["", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "1p3", " 1", "1 ", "NaN", "infinity", "1_000"] {
            assert!(Number::parse(s).is_err(), "{s:?}");
        }
        assert!(Number::parse("1e9999999999").is_err());
        assert_eq!(n(".5"), Number::from_f64(0.5).unwrap());
        assert_eq!(n("5."), Number::from(5i64));
    }
}
