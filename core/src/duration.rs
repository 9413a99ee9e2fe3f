//! Duration strings as Terraform users write them: `90s`, `5m`, `1h30m`, `500ms`.

use std::time::Duration;

/// Parses a sequence of `<number><unit>` with units ms, s, m, h, d. The error
/// is a sentence for a diagnostic.
pub fn parse(s: &str) -> Result<Duration, String> {
    let hint = "use a number with a unit, such as \"30s\", \"5m\", \"1h30m\"";
    if s.is_empty() {
        return Err(format!("empty duration; {hint}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{s:?} is not a duration; {hint}"));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| format!("{s:?} is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            "" => return Err(format!("{s:?} has a number without a unit; {hint}")),
            other => return Err(format!("{s:?} has an unknown unit {other:?}; {hint}")),
        };
        total = total.checked_add(d).ok_or_else(|| format!("{s:?} is too large"))?;
    }
    Ok(total)
}

/// The shortest form `parse` reads back: `1h30m`, `45s`, `250ms`.
pub fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    if d.subsec_millis() != 0 && d.as_secs() == 0 {
        return format!("{}ms", d.as_millis());
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if d.subsec_millis() != 0 {
        out.push_str(&format!("{}ms", d.subsec_millis()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        for bad in ["", "5", "m5", "5 m", "5x", "-5s", "1.5h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        for s in ["5m", "1h30m", "45s", "250ms", "1h", "2m5s", "7d", "1d2h"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
