//! Logs in the form Terraform shows them.
//!
//! go-plugin reads a provider's stderr line by line; a line that is an
//! hclog-style JSON object (`@level`, `@message`, `@timestamp`, `@module`)
//! is re-logged by Terraform at that level, so `TF_LOG=DEBUG` shows our
//! lines interleaved with Terraform's own. The level comes from
//! `TF_LOG_PROVIDER`, else `TF_LOG`, as terraform-plugin-log does.
//!
//! Credentials: our own code never logs secrets (they are
//! [`bluegreen_core::secret::Secret`]), and every other crate — the AWS
//! SDK's signer logs canonical requests that carry session tokens at debug
//! level — is capped at WARN whatever the requested level.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Crates whose logs are ours and may follow the requested level.
const OUR_TARGETS: &[&str] = &["bluegreen_provider", "terraform_provider_bluegreen", "bluegreen_core"];

/// The level requested through the environment; `None` when logging is off.
pub fn level_from_env(get: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let raw = get("TF_LOG_PROVIDER").filter(|v| !v.is_empty()).or_else(|| get("TF_LOG")).unwrap_or_default();
    match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        // Unset (Terraform discards provider logs then) or unrecognised.
        _ => LevelFilter::WARN,
    }
}

pub fn filter_for(level: LevelFilter) -> Targets {
    let others = level.min(LevelFilter::WARN);
    OUR_TARGETS.iter().fold(Targets::new().with_default(others), |t, target| t.with_target(*target, level))
}

/// Installs the hclog JSON layer on stderr.
pub fn init() {
    let level = level_from_env(|k| std::env::var(k).ok());
    let _ = tracing_subscriber::registry().with(HclogLayer::new(Box::new(std::io::stderr())).with_filter(filter_for(level))).try_init();
}

/// Writes each event as one hclog JSON line.
pub struct HclogLayer {
    out: Mutex<Box<dyn Write + Send>>,
}

impl HclogLayer {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self { out: Mutex::new(out) }
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Json>);

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(key(field), Json::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(key(field), Json::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(key(field), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(key(field), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(key(field), Json::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(key(field), serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number));
    }
}

fn key(field: &Field) -> String {
    if field.name() == "message" {
        "@message".into()
    } else {
        field.name().to_string()
    }
}

fn level_name(l: &Level) -> &'static str {
    match *l {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Map::new();
        fields.insert("@level".into(), Json::String(level_name(event.metadata().level()).into()));
        fields.insert("@module".into(), Json::String("provider.bluegreen".into()));
        fields.insert("@timestamp".into(), Json::String(timestamp(SystemTime::now())));
        event.record(&mut JsonVisitor(&mut fields));
        fields.entry("@message").or_insert_with(|| Json::String(String::new()));
        fields.insert("target".into(), Json::String(event.metadata().target().into()));
        let mut line = Json::Object(fields).to_string();
        line.push('\n');
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

/// RFC 3339 UTC with microseconds, as hclog writes (`2026-11-22T10:49:48.123456Z`).
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z", rem / 3600, rem % 3600 / 60, rem % 60, d.subsec_micros())
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn level_prefers_tf_log_provider() {
        let env =
            |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        assert_eq!(level_from_env(env(&[("TF_LOG", "DEBUG")])), LevelFilter::DEBUG);
        assert_eq!(level_from_env(env(&[("TF_LOG", "DEBUG"), ("TF_LOG_PROVIDER", "trace")])), LevelFilter::TRACE);
        assert_eq!(level_from_env(env(&[("TF_LOG", "JSON")])), LevelFilter::TRACE);
        assert_eq!(level_from_env(env(&[])), LevelFilter::WARN);
    }

    #[test]
    fn lines_are_hclog_json_and_third_party_is_capped() {
        let buf = Buf::default();
        let sub = tracing_subscriber::registry().with(HclogLayer::new(Box::new(buf.clone())).with_filter(filter_for(LevelFilter::TRACE)));
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "bluegreen_core::engine", step = 2, "shifted traffic");
            tracing::debug!(target: "aws_sigv4::http_request", "canonical request with x-amz-security-token");
            tracing::warn!(target: "hyper", "a warning from a dependency");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["@level"], "info");
        assert_eq!(lines[0]["@message"], "shifted traffic");
        assert_eq!(lines[0]["step"], 2);
        assert!(lines[0]["@timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(lines[1]["@level"], "warn");
        assert!(!text.contains("security-token"));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_micros(1_795_344_588_123_456)), "2026-11-22T10:49:48.123456Z");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000000Z");
    }
}
