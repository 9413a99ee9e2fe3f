//! Wall-clock time, as the rollout's clock needs it: when a split was
//! reached (`shifted_at`), when a bake ends, when credentials expire.
//!
//! [`now`] follows tokio's clock from the first moment it is read, so tests
//! that pause tokio's clock move the wall clock too: a bake measured from a
//! `shifted_at` runs in virtual time like every other wait.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

thread_local! {
    // Per thread: a paused test runtime runs on its test's thread, and each has a clock of its own (one base for the
    // process made every test after the first measure from another test's virtual clock). In production tokio's clock
    // is the real one, so every thread's base gives the same time.
    static BASE: Cell<Option<(SystemTime, std::time::Instant)>> = const { Cell::new(None) };
}

/// The current UTC time: the system clock when first read (on this thread),
/// advanced by tokio's clock since (the real clock in production, the
/// virtual one in a paused test).
pub fn now() -> SystemTime {
    let tokio_now = tokio::time::Instant::now().into_std();
    let (wall, mono) = BASE.with(|b| match b.get() {
        // A clock behind the base is another (paused) runtime's on a reused thread: start again from it.
        Some((wall, mono)) if tokio_now >= mono => (wall, mono),
        _ => {
            let base = (SystemTime::now(), tokio_now);
            b.set(Some(base));
            base
        }
    });
    wall + tokio_now.saturating_duration_since(mono)
}

/// RFC 3339 in UTC to the second, e.g. `2026-12-07T21:14:14Z`.
pub fn format(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX)).fmt(Format::DateTime).unwrap_or_else(|_| format!("@{secs}"))
}

/// Reads an RFC 3339 time (`2026-12-07T21:14:14Z`, an offset, fractions);
/// the error is a sentence for a diagnostic.
pub fn parse(s: &str) -> Result<SystemTime, String> {
    let bad = || format!("{s:?} is not an RFC 3339 time; write it like \"2026-12-07T21:14:14Z\"");
    // An offset (`+01:00`) is read as UTC, then moved by it.
    let (utc, offset) = match s.len().checked_sub(6).map(|i| s.split_at(i)) {
        Some((head, tail)) if (tail.starts_with('+') || tail.starts_with('-')) && tail.as_bytes()[3] == b':' => {
            let h: u64 = tail[1..3].parse().map_err(|_| bad())?;
            let m: u64 = tail[4..6].parse().map_err(|_| bad())?;
            (format!("{head}Z"), Some((tail.starts_with('+'), Duration::from_secs(h * 3600 + m * 60))))
        }
        _ => (s.to_string(), None),
    };
    let d = DateTime::from_str(&utc, Format::DateTime).map_err(|_| bad())?;
    let t = SystemTime::try_from(d).map_err(|_| format!("{s:?} is out of range"))?;
    Ok(match offset {
        Some((true, o)) => t - o,
        Some((false, o)) => t + o,
        None => t,
    })
}

/// `later - earlier`, zero when `later` is not later.
pub fn since(later: SystemTime, earlier: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_to_the_second() {
        let t = parse("2026-12-07T21:14:14Z").unwrap();
        assert_eq!(format(t), "2026-12-07T21:14:14Z");
        assert_eq!(format(parse("2026-12-07T22:14:14+01:00").unwrap()), "2026-12-07T21:14:14Z");
        assert!(parse("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[tokio::test(start_paused = true)]
    async fn follows_the_paused_clock() {
        let a = now();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let b = since(now(), a);
        assert!(b >= Duration::from_secs(3600) && b < Duration::from_secs(3601), "{b:?}");
    }
}
