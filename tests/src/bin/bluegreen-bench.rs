//! `make bench`: how the provider scales, measured against LocalStack with
//! the real terraform 1.0.3 CLI and the release build of the provider, every
//! AWS call going through the recording proxy ([`bluegreen_acceptance::proxy`]).
//!
//! A benchmark, not a test: it measures, compares against the targets of
//! issue #6, and writes the results to `target/bench/results.json` (with the
//! terraform log, output and proxy call list of every measured command under
//! `target/bench/logs/`). From that file it renders `target/bench/results.md`
//! and the generated sections of `docs/PERFORMANCE.md` (between
//! `<!-- bench:<name> -->` and `<!-- /bench -->`; see [`fill_page`]), each
//! with the date, machine, load, Terraform and LocalStack versions of the run
//! that measured it. A part skipped with `BENCH_SKIP` keeps its results from
//! the previous `results.json`. It exits non-zero only when something could
//! not be measured (a terraform command failed; the page is then left as it
//! was), never for a missed target.
//!
//! 1. **Scale**, for each N in `BENCH_SIZES` (default `10,100,500`), in a
//!    fresh hosted zone: N `bluegreen_switch`es (one `count`, records sides,
//!    traffic 0) created with `apply -parallelism=50`; then `plan` (refresh
//!    of all N); an apply 0 → 10 at `-parallelism=50`; an apply 10 → 20 at
//!    the default parallelism (10); a destroy. For each command: wall time,
//!    Route 53 calls by operation, changes per ChangeResourceRecordSets,
//!    throttling seen on the wire and surfaced as terraform errors, and the
//!    provider's peak RSS (the `peak_rss_kib` of its "provider exiting" log
//!    line, the largest over the provider processes of that command).
//! 2. **Start → handshake line** of the release binary, started as Terraform
//!    starts it (magic cookie, protocol 6, AutoMTLS with a P-521 client
//!    certificate like Terraform's), `BENCH_HANDSHAKES` times (default 30).
//! 3. **Rollout step overhead**: one switch with `steps = [10, …, 90]` and
//!    `bake_time = "1s"` applied 0 → 100, `BENCH_ROLLOUT_RUNS` times
//!    (default 2). Per step: the time between two consecutive
//!    ChangeResourceRecordSets minus the bake minus every Route 53 call in
//!    between (as the proxy timed them).
//!
//! 4. **Rate-limited run** (issue 12): `BENCH_RATE_N` switches (default
//!    200) behind a proxy of their own that holds Route 53 to 5 requests a
//!    second (token bucket, burst 5, AWS-shaped `Throttling` beyond it),
//!    twice: all in one zone (batching keeps the calls few), then spread
//!    over `BENCH_RATE_ZONES` zones (default 40, so 5 a zone: the calls
//!    multiply and the provider's rate limiter has to pace them). Each
//!    time: created, shifted 0 → 50 at `-parallelism=50`, refreshed by a
//!    plan. For each command: Route 53 calls answered and throttled, wall
//!    time, the limit's floor (answered calls ÷ 5/s), errors surfaced.
//!
//! Knobs: `BENCH_SIZES=10,100` (a quick run), `BENCH_HANDSHAKES`,
//! `BENCH_ROLLOUT_RUNS`, `BENCH_OUT` (default `target/bench`),
//! `BENCH_SKIP=handshake,rollout,scale,rate`, `BENCH_RATE_N`, `BENCH_RATE_ZONES`, and `BENCH_ROUTE53_RPS=5` to make
//! the proxy throttle Route 53 above that many requests a second (Route 53's
//! documented account limit is 5/s; LocalStack itself never throttles).
//! `BENCH_TF_LOG_CORE=TRACE` adds terraform's own log to each command's log
//! file (slow and large; for finding where the time goes).
//! `BLUEGREEN_PROVIDER_DIR` defaults to `target/release` here.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bluegreen_acceptance::proxy::{Call, Fault, Proxy, ROUTE53};
use bluegreen_acceptance::{aws, block_on, fixture, test_env, unique_suffix, Output, Workdir, PROVIDER_BINARY};
use serde::{Deserialize, Serialize};

const CHANGE: &str = "ChangeResourceRecordSets";
/// One terraform command of the bench may take this long.
const BENCH_COMMAND_TIMEOUT: Duration = Duration::from_secs(3600);
/// Terraform's magic cookie (go-plugin handshake).
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const BAKE: Duration = Duration::from_secs(1);
const ROLLOUT_STEPS: [u8; 9] = [10, 20, 30, 40, 50, 60, 70, 80, 90];

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

struct Settings {
    sizes: Vec<usize>,
    handshakes: usize,
    rollout_runs: usize,
    out: PathBuf,
    skip: Vec<String>,
    route53_rps: f64,
    /// Switches in the rate-limited run, and the zones of its second part.
    rate_n: usize,
    rate_zones: usize,
    /// `TF_LOG_CORE` for terraform (e.g. `TRACE`, to see what terraform does between provider calls).
    tf_log_core: Option<String>,
}

impl Settings {
    fn from_env(root: &Path) -> Result<Settings, String> {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let num = |k: &str, default: usize| -> Result<usize, String> {
            var(k).map_or(Ok(default), |v| v.parse().map_err(|_| format!("{k}={v:?} is not a whole number")))
        };
        let sizes = match var("BENCH_SIZES") {
            None => vec![10, 100, 500],
            Some(v) => v
                .split(',')
                .map(|s| s.trim().parse::<usize>().map_err(|_| format!("BENCH_SIZES={v:?}: {s:?} is not a whole number")))
                .collect::<Result<Vec<_>, _>>()?,
        };
        if sizes.iter().any(|&n| n == 0 || n > 2000) {
            return Err(format!("BENCH_SIZES={sizes:?}: each size must be within 1–2000"));
        }
        let route53_rps = match var("BENCH_ROUTE53_RPS") {
            None => 0.0,
            Some(v) => v.parse::<f64>().ok().filter(|r| *r >= 0.0).ok_or(format!("BENCH_ROUTE53_RPS={v:?} is not a rate"))?,
        };
        Ok(Settings {
            sizes,
            handshakes: num("BENCH_HANDSHAKES", 30)?.max(1),
            rollout_runs: num("BENCH_ROLLOUT_RUNS", 2)?.max(1),
            out: var("BENCH_OUT").map(PathBuf::from).unwrap_or_else(|| root.join("target/bench")),
            skip: var("BENCH_SKIP").map(|v| v.split(',').map(|s| s.trim().to_string()).collect()).unwrap_or_default(),
            route53_rps,
            rate_n: num("BENCH_RATE_N", 200)?.clamp(1, 2000),
            rate_zones: num("BENCH_RATE_ZONES", 40)?.clamp(1, 200),
            tf_log_core: var("BENCH_TF_LOG_CORE"),
        })
    }

    fn runs(&self, part: &str) -> bool {
        !self.skip.iter().any(|s| s == part)
    }
}

// ---------------------------------------------------------------------------
// One measured terraform command
// ---------------------------------------------------------------------------

/// What one terraform command cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Measured {
    ok: bool,
    wall: Duration,
    /// Route 53 calls by operation, retries included.
    route53: BTreeMap<String, usize>,
    /// `<Change>`s per ChangeResourceRecordSets that Route 53 accepted, in order.
    batches: Vec<usize>,
    /// ChangeResourceRecordSets requests, accepted or not (retries included).
    change_calls: usize,
    /// Throttling errors (`Throttling`, `ThrottlingException`, …) the provider got, any service.
    wire_throttles: usize,
    /// Every error code the provider got, any service.
    wire_errors: BTreeMap<String, usize>,
    /// Terraform errors that mention throttling.
    surfaced_throttles: usize,
    /// Terraform error summaries.
    errors: Vec<String>,
    /// The largest peak RSS over the provider processes of the command, KiB.
    peak_rss_kib: Option<u64>,
    /// Provider processes that logged their exit.
    providers: usize,
    /// Load average (1 min) when the command ended.
    load1: Option<f64>,
}

impl Measured {
    fn route53_reads(&self) -> usize {
        self.route53.iter().filter(|(op, _)| op.as_str() != CHANGE).map(|(_, n)| n).sum()
    }
}

fn is_throttling(code: &str) -> bool {
    matches!(code, "Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" | "SlowDown")
}

/// The max `peak_rss_kib=` over the "provider exiting" lines of a terraform log, and how many there were.
fn peak_rss(log: &str) -> (Option<u64>, usize) {
    let values: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("provider exiting"))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("peak_rss_kib=")).and_then(|v| v.parse().ok()))
        .collect();
    (values.iter().copied().max(), values.len())
}

fn load1() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

struct Bench {
    settings: Settings,
    proxy: Proxy,
    logs: PathBuf,
}

impl Bench {
    /// Runs `terraform <args>` in `wd` with provider logs at INFO in a file, and measures it.
    fn measure(&self, wd: &Workdir, label: &str, args: &[&str]) -> (Measured, Output) {
        let log = self.logs.join(format!("{label}.tf.log"));
        let _ = std::fs::remove_file(&log);
        self.proxy.reset();
        eprintln!("bench: {label}: terraform {} …", args.join(" "));
        let log_path = log.display().to_string();
        let mut env = vec![("TF_LOG_PROVIDER", "INFO"), ("TF_LOG_PATH", log_path.as_str())];
        if let Some(level) = &self.settings.tf_log_core {
            env.push(("TF_LOG_CORE", level.as_str()));
        }
        let out = wd.run_with_env(args, &env);
        if !self.proxy.wait_idle(Duration::from_secs(30)) {
            eprintln!("bench: {label}: {} AWS calls still in flight after terraform exited", self.proxy.in_flight());
        }
        let calls = self.proxy.calls();
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        // Terraform writes provider lines to TF_LOG_PATH; should a version not, they are on its stderr.
        let (mut peak, mut providers) = peak_rss(&log_text);
        if providers == 0 {
            (peak, providers) = peak_rss(&out.stderr);
        }
        let r53: Vec<&Call> = calls.iter().filter(|c| c.service == ROUTE53).collect();
        let mut route53 = BTreeMap::new();
        for c in &r53 {
            *route53.entry(c.operation.clone()).or_insert(0) += 1;
        }
        let mut wire_errors = BTreeMap::new();
        for code in calls.iter().filter_map(|c| c.error_code.as_deref()) {
            *wire_errors.entry(code.to_string()).or_insert(0) += 1;
        }
        let errors = out.errors();
        let m = Measured {
            ok: out.success() || (args.contains(&"-detailed-exitcode") && out.code() == Some(2)),
            wall: out.elapsed,
            route53,
            batches: r53.iter().filter(|c| c.operation == CHANGE && c.succeeded()).filter_map(|c| c.changes).collect(),
            change_calls: r53.iter().filter(|c| c.operation == CHANGE).count(),
            wire_throttles: calls.iter().filter(|c| c.error_code.as_deref().is_some_and(is_throttling)).count(),
            wire_errors,
            surfaced_throttles: errors
                .iter()
                .filter(|d| {
                    let text = format!("{} {}", d.summary, d.body).to_ascii_lowercase();
                    text.contains("throttl") || text.contains("rate exceeded")
                })
                .count(),
            errors: errors.iter().map(|d| d.summary.clone()).collect(),
            peak_rss_kib: peak,
            providers,
            load1: load1(),
        };
        let _ = std::fs::write(self.logs.join(format!("{label}.out.txt")), out.to_string());
        let listing: String = calls.iter().map(|c| format!("{:>9.3}s {c}\n", c.at.as_secs_f64())).collect();
        let _ = std::fs::write(self.logs.join(format!("{label}.calls.txt")), listing);
        eprintln!(
            "bench: {label}: {} in {:.1}s; Route 53 {:?}; batches {}; peak RSS {}; throttles wire {} / surfaced {}",
            if m.ok { "ok" } else { "FAILED" },
            m.wall.as_secs_f64(),
            m.route53,
            batches(&m.batches),
            m.peak_rss_kib.map_or("?".into(), mb),
            m.wire_throttles,
            m.surfaced_throttles
        );
        if !m.ok {
            eprintln!("bench: {label} failed; see {}\n{}", self.logs.join(format!("{label}.out.txt")).display(), tail(&out.stderr, 40));
        }
        (m, out)
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------
// 1. Scale
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Serialize, Deserialize)]
struct ScaleResult {
    n: usize,
    setup: Option<Measured>,
    plan: Option<Measured>,
    apply50: Option<Measured>,
    apply10: Option<Measured>,
    destroy: Option<Measured>,
    /// What went wrong, if anything.
    problems: Vec<String>,
}

impl ScaleResult {
    fn measured(&self) -> impl Iterator<Item = &Measured> {
        [&self.setup, &self.plan, &self.apply50, &self.apply10, &self.destroy].into_iter().flatten()
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        self.measured().filter_map(|m| m.peak_rss_kib).max()
    }
}

/// N switches in one zone: `count`, records sides with set identifiers unique
/// in the zone (LocalStack deletes weighted sets by identifier alone).
fn scale_config(n: usize, zone_id: &str, zone_name: &str, traffic: u8) -> String {
    format!(
        r#"resource "bluegreen_switch" "s" {{
  count   = {n}
  zone_id = "{zone_id}"
  name    = "svc${{count.index}}.{zone_name}"

  blue {{
    set_identifier = "blue-${{count.index}}"
    records        = ["10.1.${{floor(count.index / 250)}}.${{count.index % 250 + 1}}"]
    ttl            = 60
  }}

  green {{
    set_identifier = "green-${{count.index}}"
    records        = ["10.2.${{floor(count.index / 250)}}.${{count.index % 250 + 1}}"]
    ttl            = 60
  }}

  traffic    = {traffic}
  on_destroy = "delete"
}}
"#
    )
}

/// Green weights Route 53 holds in the zone, by set identifier (read with the SDK, straight from LocalStack).
fn green_weights(zone_id: &str) -> Result<HashMap<String, i64>, String> {
    block_on(async {
        let r53 = &aws().route53;
        let mut out = HashMap::new();
        let mut start: Option<(String, Option<aws_sdk_route53::types::RrType>, Option<String>)> = None;
        for _ in 0..200 {
            let mut req = r53.list_resource_record_sets().hosted_zone_id(zone_id).max_items(300);
            if let Some((name, ty, id)) = &start {
                req = req.start_record_name(name).set_start_record_type(ty.clone()).set_start_record_identifier(id.clone());
            }
            let page =
                req.send().await.map_err(|e| format!("ListResourceRecordSets: {}", aws_sdk_route53::error::DisplayErrorContext(&e)))?;
            for r in page.resource_record_sets() {
                if let Some(id) = r.set_identifier().filter(|id| id.starts_with("green-")) {
                    out.insert(id.to_string(), r.weight().unwrap_or(-1));
                }
            }
            let next = page
                .next_record_name()
                .map(|n| (n.to_string(), page.next_record_type().cloned(), page.next_record_identifier().map(str::to_string)));
            match next {
                Some(n) if page.is_truncated() && Some(&n) != start.as_ref() => start = Some(n),
                _ => return Ok(out),
            }
        }
        Err("the listing did not end after 200 pages".to_string())
    })
}

fn check_weights(zone_id: &str, n: usize, want: i64) -> Result<(), String> {
    let w = green_weights(zone_id)?;
    let right = w.values().filter(|&&g| g == want).count();
    if w.len() == n && right == n {
        Ok(())
    } else {
        Err(format!("Route 53 holds {} green sets, {right} of them at weight {want}; expected {n} at {want}", w.len()))
    }
}

fn delete_zone(zone_id: &str) {
    let r = block_on(aws().route53.delete_hosted_zone().id(zone_id).send());
    if let Err(e) = r {
        eprintln!(
            "bench: could not delete hosted zone {zone_id} (left in LocalStack; harmless for reruns): {}",
            aws_sdk_route53::error::DisplayErrorContext(&e)
        );
    }
}

fn scale(b: &Bench, n: usize) -> ScaleResult {
    let mut r = ScaleResult { n, ..ScaleResult::default() };
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("bench"));
    eprintln!("bench: N = {n} in zone {zone_name} ({zone_id})");
    let wd = Workdir::new(&format!("bench-{n}")).with_proxy(&b.proxy).with_timeout(BENCH_COMMAND_TIMEOUT);
    let apply = ["apply", "-no-color", "-input=false", "-auto-approve"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { apply.iter().chain(extra).copied().collect() };

    let body = catch_unwind(AssertUnwindSafe(|| {
        wd.config(&scale_config(n, &zone_id, &zone_name, 0));
        let (m, _) = b.measure(&wd, &format!("n{n}-1-setup-create-p50"), &with(&["-parallelism=50"]));
        let ok = m.ok;
        r.setup = Some(m);
        if !ok {
            r.problems.push("setup apply failed".into());
            return;
        }
        if let Err(e) = check_weights(&zone_id, n, 0) {
            r.problems.push(format!("after setup: {e}"));
        }

        let (m, out) = b.measure(&wd, &format!("n{n}-2-plan-refresh"), &["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
        if out.code() != Some(0) {
            r.problems.push(format!("the plan after setup was not empty (exit {:?})", out.code()));
        }
        r.plan = Some(m);

        for (traffic, label, extra) in [(10u8, "3-apply-0-10-p50", &["-parallelism=50"][..]), (20, "4-apply-10-20-p10", &[][..])] {
            wd.config(&scale_config(n, &zone_id, &zone_name, traffic));
            let (m, _) = b.measure(&wd, &format!("n{n}-{label}"), &with(extra));
            let ok = m.ok;
            if traffic == 10 {
                r.apply50 = Some(m);
            } else {
                r.apply10 = Some(m);
            }
            if !ok {
                r.problems.push(format!("apply to {traffic} failed"));
                return;
            }
            if let Err(e) = check_weights(&zone_id, n, i64::from(traffic)) {
                r.problems.push(format!("after the apply to {traffic}: {e}"));
            }
        }
    }));
    if let Err(panic) = body {
        r.problems.push(format!("the bench panicked: {}", panic_text(&panic)));
    }
    // Always clean up: destroy (measured too), then the zone.
    let destroyed = catch_unwind(AssertUnwindSafe(|| {
        b.measure(&wd, &format!("n{n}-5-destroy-p50"), &["destroy", "-no-color", "-input=false", "-auto-approve", "-parallelism=50"]).0
    }));
    match destroyed {
        Ok(m) => {
            if !m.ok {
                r.problems.push("destroy failed".into());
            }
            r.destroy = Some(m);
        }
        Err(panic) => r.problems.push(format!("destroy panicked: {}", panic_text(&panic))),
    }
    delete_zone(&zone_id);
    r
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    let s = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
    s.lines().next().unwrap_or("").chars().take(300).collect()
}

// ---------------------------------------------------------------------------
// 2. Start → handshake line
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Serialize, Deserialize)]
struct HandshakeResult {
    /// Every start, in order; the first (cold) is excluded from the statistics.
    samples: Vec<Duration>,
    problem: Option<String>,
}

/// A client certificate like the one Terraform (go-plugin) makes for each
/// run: ECDSA P-521 / SHA-512, self-signed, CA, SAN localhost.
fn terraform_like_cert_pem() -> Result<String, String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| e.to_string())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params.self_signed(&key).map_err(|e| e.to_string())?.pem())
}

/// Starts the binary as Terraform 1.0.3 does and times exec → the handshake line on stdout.
fn one_handshake(bin: &Path, pem: &str, tmp: &Path) -> Result<Duration, String> {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", tmp)
        // Terraform 1.0.3 (go-plugin 1.4) sets no PLUGIN_UNIX_SOCKET_DIR: the socket goes to TMPDIR.
        .env("TMPDIR", tmp)
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", pem)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut line = String::new();
    let read = child.stdout.take().map(|out| BufReader::new(out).read_line(&mut line));
    let took = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    match read {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(format!("reading the handshake: {e}")),
        None => return Err("no stdout".into()),
    }
    let f: Vec<&str> = line.trim_end().split('|').collect();
    if f.len() != 6 || f[0] != "1" || f[1] != "6" || f[4] != "grpc" || f[5].is_empty() {
        return Err(format!("unexpected handshake line (AutoMTLS needs a certificate in field 6): {line:?}"));
    }
    Ok(took)
}

fn handshakes(count: usize) -> HandshakeResult {
    let bin = test_env().provider_dir.join(PROVIDER_BINARY);
    let mut r = HandshakeResult::default();
    let tmp = match tempfile::Builder::new().prefix("bluegreen-bench-handshake-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            r.problem = Some(format!("temporary directory: {e}"));
            return r;
        }
    };
    // One certificate per Terraform run; each start here is one run's first start.
    let pem = match terraform_like_cert_pem() {
        Ok(p) => p,
        Err(e) => {
            r.problem = Some(format!("client certificate: {e}"));
            return r;
        }
    };
    eprintln!("bench: {} + 1 starts of {} …", count, bin.display());
    for _ in 0..=count {
        match one_handshake(&bin, &pem, tmp.path()) {
            Ok(d) => r.samples.push(d),
            Err(e) => {
                r.problem = Some(e);
                return r;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    r
}

// ---------------------------------------------------------------------------
// 3. Rollout step overhead
// ---------------------------------------------------------------------------

/// One step interval of a rollout: from one write to the next.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepTiming {
    /// Green percent the interval starts at.
    green: u8,
    wall: Duration,
    /// Route 53 calls inside the interval, as the proxy timed them (the write itself, GetChange …).
    aws: Duration,
    bake: Duration,
    /// The provider's `took_ms` for the step (write + INSYNC wait, as it measured it).
    took: Option<Duration>,
}

impl StepTiming {
    /// Wall time beyond AWS calls and the bake (INSYNC polls are AWS calls; their sleeps are counted here).
    fn overhead(&self) -> f64 {
        ms(self.wall) - ms(self.aws) - ms(self.bake)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RolloutResult {
    runs: Vec<Measured>,
    steps: Vec<StepTiming>,
    /// Per step: the provider's `took_ms` minus the write's proxy-timed duration.
    in_step: Vec<f64>,
    problems: Vec<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rollout_config(zone_id: &str, zone_name: &str, traffic: u8) -> String {
    let steps = ROLLOUT_STEPS.iter().map(u8::to_string).collect::<Vec<_>>().join(", ");
    format!(
        r#"resource "bluegreen_switch" "r" {{
  zone_id = "{zone_id}"
  name    = "rollout.{zone_name}"

  blue {{
    set_identifier = "blue-rollout"
    records        = ["10.1.0.1"]
  }}

  green {{
    set_identifier = "green-rollout"
    records        = ["10.2.0.1"]
  }}

  traffic    = {traffic}
  on_destroy = "delete"

  rollout {{
    steps     = [{steps}]
    bake_time = "1s"
  }}
}}
"#
    )
}

/// The step intervals of one rollout apply, from the proxy's call list.
fn step_timings(calls: &[Call], took: &[Duration]) -> Result<(Vec<StepTiming>, Vec<f64>), String> {
    let r53: Vec<&Call> = calls.iter().filter(|c| c.service == ROUTE53).collect();
    // One write per step; retries of one write share an invocation id.
    let mut writes: Vec<&Call> = Vec::new();
    for c in r53.iter().filter(|c| c.operation == CHANGE) {
        if writes.last().is_none_or(|w| w.invocation_id.is_none() || w.invocation_id != c.invocation_id) {
            writes.push(c);
        }
    }
    let want = ROLLOUT_STEPS.len() + 1;
    if writes.len() != want {
        return Err(format!("expected {want} ChangeResourceRecordSets (one per step), saw {}", writes.len()));
    }
    let mut steps = Vec::new();
    for (k, pair) in writes.windows(2).enumerate() {
        let (from, to) = (pair[0].at, pair[1].at);
        let aws: Duration = r53.iter().filter(|c| c.at >= from && c.at < to).map(|c| c.duration).sum();
        steps.push(StepTiming { green: ROLLOUT_STEPS[k], wall: to - from, aws, bake: BAKE, took: took.get(k).copied() });
    }
    // Inside each step as the provider timed it: write + INSYNC wait, minus the write on the wire.
    let in_step = took.iter().zip(&writes).map(|(t, w)| ms(*t) - ms(w.duration)).collect();
    Ok((steps, in_step))
}

/// `took_ms` of every "step i/N" line of the provider, in order.
fn step_took(log: &str) -> Vec<Duration> {
    log.lines()
        .filter(|l| l.contains("provider.terraform-provider-bluegreen: step "))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("took_ms=")).and_then(|v| v.parse().ok()))
        .map(Duration::from_millis)
        .collect()
}

fn rollout(b: &Bench, runs: usize) -> RolloutResult {
    let mut r = RolloutResult::default();
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("bench"));
    eprintln!("bench: rollout in zone {zone_name} ({zone_id})");
    let wd = Workdir::new("bench-rollout").with_proxy(&b.proxy).with_timeout(BENCH_COMMAND_TIMEOUT);
    let apply = ["apply", "-no-color", "-input=false", "-auto-approve"];
    let body = catch_unwind(AssertUnwindSafe(|| {
        wd.config(&rollout_config(&zone_id, &zone_name, 0));
        if !b.measure(&wd, "rollout-0-create", &apply).0.ok {
            r.problems.push("creating the switch failed".into());
            return;
        }
        for run in 1..=runs {
            wd.config(&rollout_config(&zone_id, &zone_name, 100));
            let label = format!("rollout-{run}-0-100");
            let (m, _) = b.measure(&wd, &label, &apply);
            let calls = b.proxy.calls();
            let ok = m.ok;
            r.runs.push(m);
            if !ok {
                r.problems.push(format!("rollout run {run} failed"));
                return;
            }
            let log = std::fs::read_to_string(b.logs.join(format!("{label}.tf.log"))).unwrap_or_default();
            match step_timings(&calls, &step_took(&log)) {
                Ok((steps, in_step)) => {
                    r.steps.extend(steps);
                    r.in_step.extend(in_step);
                }
                Err(e) => r.problems.push(format!("run {run}: {e}")),
            }
            // Back to 0: a rollback, one write, not measured.
            wd.config(&rollout_config(&zone_id, &zone_name, 0));
            if !b.measure(&wd, &format!("rollout-{run}-100-0"), &apply).0.ok {
                r.problems.push(format!("rolling back after run {run} failed"));
                return;
            }
        }
    }));
    if let Err(panic) = body {
        r.problems.push(format!("the bench panicked: {}", panic_text(&panic)));
    }
    let destroyed = catch_unwind(AssertUnwindSafe(|| {
        b.measure(&wd, "rollout-9-destroy", &["destroy", "-no-color", "-input=false", "-auto-approve"]).0.ok
    }));
    if !matches!(destroyed, Ok(true)) {
        r.problems.push("destroy failed".into());
    }
    delete_zone(&zone_id);
    r
}

// ---------------------------------------------------------------------------
// 4. Rate-limited run
// ---------------------------------------------------------------------------

/// Route 53's documented account limit, enforced by the proxy in the rate-limited run.
const RATE_LIMIT_RPS: f64 = 5.0;

/// One command of the rate-limited run, as the proxy saw its Route 53 calls.
#[derive(Debug, Serialize, Deserialize)]
struct RateRow {
    zones: usize,
    label: String,
    m: Measured,
    answered: usize,
    throttled: usize,
    /// First to last Route 53 call.
    span: Duration,
}

impl RateRow {
    fn floor(&self) -> f64 {
        self.answered as f64 / RATE_LIMIT_RPS
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RateResult {
    n: usize,
    rows: Vec<RateRow>,
    problems: Vec<String>,
}

/// N switches spread round-robin over `zones` (`(name, id)` each).
fn multi_zone_config(n: usize, zones: &[(String, String)], traffic: u8) -> String {
    let ids: Vec<String> = zones.iter().map(|(_, id)| format!("\"{id}\"")).collect();
    let names: Vec<String> = zones.iter().map(|(name, _)| format!("\"{name}\"")).collect();
    let one = scale_config(
        n,
        "${local.zone_ids[count.index % length(local.zone_ids)]}",
        "${local.zone_names[count.index % length(local.zone_names)]}",
        traffic,
    );
    format!("locals {{\n  zone_ids   = [{}]\n  zone_names = [{}]\n}}\n\n{one}", ids.join(", "), names.join(", "))
}

fn rate_limited(settings: &Settings, logs: &Path) -> RateResult {
    let n = settings.rate_n;
    let mut r = RateResult { n, ..RateResult::default() };
    let proxy = Proxy::start();
    let b = Bench {
        settings: Settings { tf_log_core: None, skip: Vec::new(), sizes: Vec::new(), out: settings.out.clone(), ..*settings },
        proxy,
        logs: logs.to_path_buf(),
    };
    for zone_count in [1, settings.rate_zones.min(n)] {
        let zones: Vec<(String, String)> = (0..zone_count).map(|_| fixture::hosted_zone(&unique_suffix("brate"))).collect();
        eprintln!("bench: rate-limited run, N = {n} in {zone_count} zone(s), Route 53 held to {RATE_LIMIT_RPS}/s");
        let wd = Workdir::new(&format!("bench-rate-{zone_count}")).with_proxy(&b.proxy).with_timeout(BENCH_COMMAND_TIMEOUT);
        let config = |t: u8| {
            if zone_count == 1 {
                scale_config(n, &zones[0].1, &zones[0].0, t)
            } else {
                multi_zone_config(n, &zones, t)
            }
        };
        let apply: &[&str] = &["apply", "-no-color", "-input=false", "-auto-approve", "-parallelism=50"];
        b.proxy.inject(Fault::throttling().on_service(ROUTE53).over_rate(RATE_LIMIT_RPS, RATE_LIMIT_RPS as u32));
        let body = catch_unwind(AssertUnwindSafe(|| {
            for (label, traffic, args) in [
                ("create, `-parallelism=50`", Some(0u8), apply),
                ("apply 0 → 50, `-parallelism=50`", Some(50), apply),
                ("plan (refresh all)", None, &["plan", "-no-color", "-input=false"][..]),
            ] {
                if let Some(t) = traffic {
                    wd.config(&config(t));
                }
                let (m, _) = b.measure(&wd, &format!("rate-n{n}-z{zone_count}-{}", r.rows.len() + 1), args);
                let calls: Vec<Call> = b.proxy.calls().into_iter().filter(|c| c.service == ROUTE53).collect();
                let throttled = calls.iter().filter(|c| c.injected()).count();
                let span = calls.last().map(|l| l.at.saturating_sub(calls[0].at)).unwrap_or_default();
                let ok = m.ok;
                r.rows.push(RateRow { zones: zone_count, label: label.to_string(), m, answered: calls.len() - throttled, throttled, span });
                if !ok {
                    r.problems.push(format!("{zone_count} zone(s): {label} failed"));
                    return;
                }
                if let Some(t) = traffic {
                    let held: usize = zones
                        .iter()
                        .map(|(_, id)| green_weights(id).map(|w| w.values().filter(|&&g| g == i64::from(t)).count()).unwrap_or(0))
                        .sum();
                    if held != n {
                        r.problems.push(format!("{zone_count} zone(s): after {label}: {held} of {n} green sets at {t}"));
                    }
                }
            }
        }));
        if let Err(panic) = body {
            r.problems.push(format!("the bench panicked: {}", panic_text(&panic)));
        }
        b.proxy.clear_faults();
        let destroyed = catch_unwind(AssertUnwindSafe(|| {
            b.measure(
                &wd,
                &format!("rate-n{n}-z{zone_count}-9-destroy"),
                &["destroy", "-no-color", "-input=false", "-auto-approve", "-parallelism=50"],
            )
            .0
            .ok
        }));
        if !matches!(destroyed, Ok(true)) {
            r.problems.push(format!("{zone_count} zone(s): destroy failed"));
        }
        for (_, id) in &zones {
            delete_zone(id);
        }
    }
    r
}

// ---------------------------------------------------------------------------
// Statistics and the report
// ---------------------------------------------------------------------------

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// KiB as MB (10^6 bytes), as the targets are written.
fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

/// `[100, 100, 100, 40]` → `100 ×3, 40`.
fn runs(v: &[usize]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        out.push(if j - i > 1 { format!("{} ×{}", v[i], j - i) } else { v[i].to_string() });
        i = j;
    }
    out.join(", ")
}

/// Changes per batch: in order when short, else how many batches had each size, largest first.
fn batches(v: &[usize]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let in_order = runs(v);
    if in_order.len() <= 60 {
        return format!("{}: {in_order}", v.len());
    }
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for &b in v {
        *sizes.entry(b).or_insert(0) += 1;
    }
    let hist: Vec<String> = sizes.iter().rev().map(|(size, count)| format!("{size} ×{count}")).collect();
    format!("{} (size ×batches): {}", v.len(), hist.join(", "))
}

/// ChangeResourceRecordSets requests of a command, and what became of them.
fn change_calls(m: &Measured) -> String {
    let refused = m.change_calls - m.batches.len();
    let refused = if refused > 0 { format!(", {refused} refused (throttled or rejected) and retried") } else { String::new() };
    format!("{} requests{refused}; accepted batches {}", m.change_calls, batches(&m.batches))
}

fn ops(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "✅ met"
    } else {
        "❌ **MISS**"
    }
}

/// The machine and the versions a run measured with, read at run time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Machine {
    nproc: usize,
    cpu: String,
    mem: String,
    load_start: String,
    load_end: String,
    /// `terraform version`'s first line.
    terraform: String,
    /// The version LocalStack's `/_localstack/health` reports.
    localstack: String,
    /// The provider binary (relative to the repository) and its size.
    provider: String,
}

fn machine(root: &Path, load_start: String) -> Machine {
    let env = test_env();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("?".into(), |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0));
    let terraform = Command::new(&env.terraform)
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let bin = env.provider_dir.join(PROVIDER_BINARY);
    let size = std::fs::metadata(&bin).map(|m| format!("{:.1} MB", m.len() as f64 / 1e6)).unwrap_or_else(|_| "?".into());
    Machine {
        nproc: std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        cpu: cpu.unwrap_or_else(|| "?".into()),
        mem,
        load_start,
        load_end: loadavg(),
        terraform,
        localstack: localstack_version(&env.endpoint).unwrap_or_else(|e| format!("? ({e})")),
        provider: format!("{} ({size})", bin.strip_prefix(root).unwrap_or(&bin).display()),
    }
}

/// `version` of LocalStack's `GET /_localstack/health` (plain HTTP on loopback).
fn localstack_version(endpoint: &str) -> Result<String, String> {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(stream, "GET /_localstack/health HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let health: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("/_localstack/health: {e}"))?;
    health.get("version").and_then(|v| v.as_str()).map(str::to_string).ok_or_else(|| "/_localstack/health has no version".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------------------
// Results: target/bench/results.json, rendered to results.md and docs/PERFORMANCE.md
// ---------------------------------------------------------------------------

/// When, on what and how long one invocation of the bench ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RunInfo {
    /// `2026-11-29 23:50 UTC`.
    started: String,
    took: Duration,
    machine: Machine,
    /// `BENCH_ROUTE53_RPS` (0: the proxy did not throttle the scale and rollout commands).
    route53_rps: f64,
}

/// One part's results and the run that measured them.
#[derive(Debug, Serialize, Deserialize)]
struct Part<T> {
    run: RunInfo,
    result: T,
}

/// Everything the page shows. Each part comes from the latest run that measured it: a part that a run skips
/// (`BENCH_SKIP`) is kept from the previous `results.json`, with its own run's date.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Results {
    scale: Option<Part<Vec<ScaleResult>>>,
    handshake: Option<Part<HandshakeResult>>,
    rollout: Option<Part<RolloutResult>>,
    rate: Option<Part<RateResult>>,
}

/// The generated sections, in page order: (marker name, title in results.md).
const SECTIONS: [(&str, &str); 5] = [
    ("targets", "Targets"),
    ("scale", "Scale: N switches in one zone"),
    ("handshake", "Start → handshake line"),
    ("rollout", "Rollout step overhead"),
    ("rate", "Rate-limited run"),
];

impl Results {
    /// The previous results, if any (a file that does not parse is reported and ignored).
    fn load(file: &Path) -> Results {
        match std::fs::read_to_string(file) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                eprintln!("bench: ignoring {} (written by an older bench?): {e}", file.display());
                Results::default()
            }),
            Err(_) => Results::default(),
        }
    }

    /// This run's parts replace the previous ones; the parts it skipped stay.
    fn merge(self, previous: Results) -> Results {
        Results {
            scale: self.scale.or(previous.scale),
            handshake: self.handshake.or(previous.handshake),
            rollout: self.rollout.or(previous.rollout),
            rate: self.rate.or(previous.rate),
        }
    }

    fn problems(&self) -> bool {
        self.scale.as_ref().is_some_and(|p| p.result.iter().any(|r| !r.problems.is_empty()))
            || self.rollout.as_ref().is_some_and(|p| !p.result.problems.is_empty())
            || self.rate.as_ref().is_some_and(|p| !p.result.problems.is_empty())
            || self.handshake.as_ref().is_some_and(|p| p.result.problem.is_some())
    }

    /// The runs the parts come from, each once, with the parts it measured.
    fn runs(&self) -> Vec<(&RunInfo, Vec<&'static str>)> {
        let parts: [(&'static str, Option<&RunInfo>); 4] = [
            ("scale", self.scale.as_ref().map(|p| &p.run)),
            ("start-up", self.handshake.as_ref().map(|p| &p.run)),
            ("rollout", self.rollout.as_ref().map(|p| &p.run)),
            ("rate-limited run", self.rate.as_ref().map(|p| &p.run)),
        ];
        let mut runs: Vec<(&RunInfo, Vec<&'static str>)> = Vec::new();
        for (name, run) in parts {
            let Some(run) = run else { continue };
            match runs.iter_mut().find(|(r, _)| r.started == run.started) {
                Some((_, names)) => names.push(name),
                None => runs.push((run, vec![name])),
            }
        }
        runs
    }

    /// The generated sections (marker name, markdown), in the order of [`SECTIONS`].
    fn sections(&self) -> Vec<(&'static str, String)> {
        let missing = |what: &str| format!("Not measured yet: no run of `make bench` has measured the {what} (see `BENCH_SKIP`).\n");
        SECTIONS
            .iter()
            .map(|(name, _)| {
                let text = match *name {
                    "targets" => self.targets(),
                    "scale" => self.scale.as_ref().map_or_else(|| missing("scale commands"), |p| with_run(&p.run, scale_tables(&p.result))),
                    "handshake" => {
                        self.handshake.as_ref().map_or_else(|| missing("start-up"), |p| with_run(&p.run, handshake_section(&p.result)))
                    }
                    "rollout" => {
                        self.rollout.as_ref().map_or_else(|| missing("rollout steps"), |p| with_run(&p.run, rollout_section(&p.result)))
                    }
                    _ => self.rate.as_ref().map_or_else(|| missing("rate-limited run"), |p| with_run(&p.run, rate_section(&p.result))),
                };
                (*name, text)
            })
            .collect()
    }

    /// `target/bench/results.md`: every section under its title.
    fn render(&self) -> String {
        let mut s = String::from("# make bench — results\n\n");
        for ((_, text), (_, title)) in self.sections().iter().zip(SECTIONS) {
            let _ = write!(s, "## {title}\n\n{text}\n");
        }
        s
    }

    fn largest(&self) -> Option<&ScaleResult> {
        self.scale.as_ref()?.result.iter().rfind(|r| r.n == 500)
    }

    fn targets(&self) -> String {
        let mut s = String::new();
        for (run, parts) in self.runs() {
            let m = &run.machine;
            let _ = writeln!(
                s,
                "- Run {} ({}; {:.0} min): {} cores ({}), {} RAM, load average (1, 5, 15 min) {} at the start and {} at the end, \
                 shared with other work. {}, LocalStack {} in host mode behind the recording proxy{}; provider `{}`.",
                run.started,
                parts.join(", "),
                run.took.as_secs_f64() / 60.0,
                m.nproc,
                m.cpu,
                m.mem,
                m.load_start,
                m.load_end,
                m.terraform,
                m.localstack,
                if run.route53_rps > 0.0 {
                    format!(", which throttled Route 53 above {} requests/s (`BENCH_ROUTE53_RPS`)", run.route53_rps)
                } else {
                    String::new()
                },
                m.provider,
            );
        }
        s.push_str("\n| measure | target | measured | |\n|---|---|---|---|\n");
        let big = self.largest();
        let not_run = "not measured (N = 500 not in BENCH_SIZES)";
        let mut row = |measure: &str, target: &str, value: Option<(String, bool)>, missing: &str| {
            let (value, v) = match value {
                Some((text, pass)) => (text, verdict(pass).to_string()),
                None => (missing.to_string(), "–".to_string()),
            };
            let _ = writeln!(s, "| {measure} | {target} | {value} | {v} |");
        };
        let plan = big.and_then(|r| r.plan.as_ref());
        row(
            "Route 53 read calls, plan of 500 switches in one zone",
            "≤ 5",
            plan.map(|p| (format!("{} ({})", p.route53_reads(), ops(&p.route53)), p.route53_reads() <= 5)),
            not_run,
        );
        let a50 = big.and_then(|r| r.apply50.as_ref());
        row(
            "ChangeResourceRecordSets calls, apply changing 500 switches, `-parallelism=50`",
            "≤ 12",
            a50.map(|a| (change_calls(a), a.change_calls <= 12)),
            not_run,
        );
        let a10 = big.and_then(|r| r.apply10.as_ref());
        row(
            "the same at the default parallelism 10",
            "≤ 60 (vs 500 unbatched)",
            a10.map(|a| (change_calls(a), a.change_calls <= 60)),
            not_run,
        );
        // Throttling: every plan and apply of every N.
        let scale = self.scale.as_ref();
        let runs_measured: Vec<&Measured> =
            scale.map(|p| p.result.iter().flat_map(|r| [&r.plan, &r.apply50, &r.apply10]).flatten().collect()).unwrap_or_default();
        let surfaced: usize = runs_measured.iter().map(|m| m.surfaced_throttles).sum();
        let wire: usize = runs_measured.iter().map(|m| m.wire_throttles).sum();
        let note = match scale {
            Some(p) if p.run.route53_rps > 0.0 => format!("proxy throttling Route 53 above {}/s", p.run.route53_rps),
            _ => "LocalStack never throttles; see BENCH_ROUTE53_RPS".to_string(),
        };
        row(
            "throttling errors surfaced to the user in those runs",
            "0",
            (!runs_measured.is_empty()).then(|| (format!("{surfaced} (on the wire: {wire}; {note})"), surfaced == 0)),
            "not measured",
        );
        let hs = self.handshake.as_ref().map(|p| &p.result).filter(|h| h.samples.len() > 1);
        row(
            "start → handshake line, median",
            "≤ 10 ms",
            hs.map(|h| {
                let v = sorted(h.samples[1..].iter().map(|d| ms(*d)).collect());
                (format!("{:.1} ms (min {:.1}, p90 {:.1}, n = {})", median(&v), v[0], percentile(&v, 90.0), v.len()), median(&v) <= 10.0)
            }),
            "not measured",
        );
        row(
            "provider peak RSS with 500 resources",
            "≤ 30 MB",
            big.and_then(ScaleResult::peak_rss_kib)
                .map(|k| (format!("{} (largest over every command of N = 500)", mb(k)), k * 1024 <= 30_000_000)),
            not_run,
        );
        let ro = self.rollout.as_ref().map(|p| &p.result).filter(|r| !r.steps.is_empty());
        row(
            "provider time per rollout step beyond AWS calls, INSYNC and bake",
            "≤ 50 ms",
            ro.map(|r| {
                let v = sorted(r.steps.iter().map(StepTiming::overhead).collect());
                let max = v[v.len() - 1];
                let med = median(&v);
                let text = format!("median {med:.1} ms, max {max:.1} ms (n = {})", v.len());
                let text = if med <= 50.0 && max > 50.0 { format!("{text}; the max is over") } else { text };
                (text, med <= 50.0)
            }),
            "not measured",
        );
        s
    }
}

/// A part's section, opened by the date of the run that measured it.
fn with_run(run: &RunInfo, body: String) -> String {
    format!("Measured in the run of {} (machine and versions under Results).\n\n{body}", run.started)
}

fn scale_tables(scale: &[ScaleResult]) -> String {
    let mut s = String::from(
        "Every row is one terraform command; Route 53 calls as the proxy saw them (retries included); batches = changes per \
         accepted ChangeResourceRecordSets; RSS = largest `peak_rss_kib` over that command's provider processes.\n\n",
    );
    s.push_str("| N | command | wall | Route 53 calls | batches (changes each) | throttling: wire / surfaced | other errors: wire; terraform | peak RSS | providers | load 1m |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in scale {
        for (name, m) in [
            ("setup: create, `-parallelism=50`", &r.setup),
            ("plan (refresh all)", &r.plan),
            ("apply 0 → 10, `-parallelism=50`", &r.apply50),
            ("apply 10 → 20, default parallelism", &r.apply10),
            ("destroy, `-parallelism=50`", &r.destroy),
        ] {
            let Some(m) = m else { continue };
            let other: BTreeMap<String, usize> =
                m.wire_errors.iter().filter(|(c, _)| !is_throttling(c)).map(|(c, n)| (c.clone(), *n)).collect();
            let _ = writeln!(
                s,
                "| {} | {name}{} | {:.1} s | {} | {} | {} / {} | {}; {} | {} | {} | {} |",
                r.n,
                if m.ok { "" } else { " **(failed)**" },
                m.wall.as_secs_f64(),
                ops(&m.route53),
                batches(&m.batches),
                m.wire_throttles,
                m.surfaced_throttles,
                if other.is_empty() { "–".into() } else { ops(&other) },
                if m.errors.is_empty() { "–".into() } else { format!("{} ({})", m.errors.len(), m.errors[0]) },
                m.peak_rss_kib.map_or("?".into(), mb),
                m.providers,
                m.load1.map_or("?".into(), |l| format!("{l:.1}")),
            );
        }
    }
    let problems: Vec<String> = scale.iter().flat_map(|r| r.problems.iter().map(move |p| format!("- N = {}: {p}", r.n))).collect();
    if !problems.is_empty() {
        let _ = write!(s, "\nProblems:\n\n{}\n", problems.join("\n"));
    }
    s
}

fn handshake_section(h: &HandshakeResult) -> String {
    let mut s = String::new();
    if let Some(p) = &h.problem {
        let _ = writeln!(s, "Failed: {p}\n");
    }
    if h.samples.len() > 1 {
        let v = sorted(h.samples[1..].iter().map(|d| ms(*d)).collect());
        let _ = writeln!(
            s,
            "{} starts of the provider binary with Terraform's environment and AutoMTLS (P-521 client certificate), \
             exec → first stdout line: min {:.1} ms, median {:.1} ms, p90 {:.1} ms, max {:.1} ms. The first (cold) start, \
             not counted: {:.1} ms.",
            v.len(),
            v[0],
            median(&v),
            percentile(&v, 90.0),
            v[v.len() - 1],
            ms(h.samples[0])
        );
    }
    s
}

fn rollout_section(r: &RolloutResult) -> String {
    let mut s = String::new();
    for p in &r.problems {
        let _ = writeln!(s, "- problem: {p}");
    }
    if r.steps.is_empty() {
        return s;
    }
    if !s.is_empty() {
        s.push('\n');
    }
    let walls: Vec<String> = r.runs.iter().map(|m| format!("{:.1} s", m.wall.as_secs_f64())).collect();
    let _ = writeln!(
        s,
        "One switch, `steps = [10, 20, …, 90]`, `bake_time = \"1s\"`, applied 0 → 100 {} time(s) (terraform wall: {}). \
         Per step interval (write k → write k+1): wall − bake − Route 53 calls in the interval (proxy-timed). \
         `took_ms` is the provider's own timing of the step (write + INSYNC wait); \"in step\" = took_ms − the write's time on the wire.\n",
        r.runs.len(),
        walls.join(", ")
    );
    s.push_str("| from green % | interval | Route 53 calls | bake | overhead | took_ms |\n|---|---|---|---|---|---|\n");
    for t in &r.steps {
        let _ = writeln!(
            s,
            "| {} | {:.1} ms | {:.1} ms | {:.0} ms | {:.1} ms | {} |",
            t.green,
            ms(t.wall),
            ms(t.aws),
            ms(t.bake),
            t.overhead(),
            t.took.map_or("?".into(), |d| format!("{:.0}", ms(d)))
        );
    }
    let v = sorted(r.steps.iter().map(StepTiming::overhead).collect());
    let i = sorted(r.in_step.clone());
    let _ = writeln!(
        s,
        "\nOverhead per step: median {:.1} ms, p90 {:.1} ms, max {:.1} ms (n = {}). In step (took_ms − write): median {:.1} ms, \
         max {:.1} ms (includes zone.rs's coalescing window).",
        median(&v),
        percentile(&v, 90.0),
        v[v.len() - 1],
        v.len(),
        median(&i),
        i.last().copied().unwrap_or(f64::NAN),
    );
    s
}

fn rate_section(r: &RateResult) -> String {
    let mut s = format!(
        "{} switches. The proxy answers AWS's `Throttling` (400, \"Rate exceeded\") to any Route 53 call beyond a token bucket \
         of {RATE_LIMIT_RPS}/s (burst {}), as Route 53 does per account. Floor = answered Route 53 calls ÷ {RATE_LIMIT_RPS}/s: \
         the least time those calls can take under the limit. Span = first to last Route 53 call.\n\n\
         | zones | command | wall | Route 53 calls answered (all calls, by operation) | throttled answers | span | floor | errors surfaced |\n\
         |---|---|---|---|---|---|---|---|\n",
        r.n, RATE_LIMIT_RPS as u32
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {}{} | {:.1} s | {} ({}) | {} | {:.1} s | {:.1} s | {} |",
            row.zones,
            row.label,
            if row.m.ok { "" } else { " **(failed)**" },
            row.m.wall.as_secs_f64(),
            row.answered,
            ops(&row.m.route53),
            row.throttled,
            row.span.as_secs_f64(),
            row.floor(),
            if row.m.errors.is_empty() { "0".to_string() } else { format!("{} ({})", row.m.errors.len(), row.m.errors[0]) },
        );
    }
    if !r.problems.is_empty() {
        s.push('\n');
    }
    for p in &r.problems {
        let _ = writeln!(s, "- problem: {p}");
    }
    s
}

// ---------------------------------------------------------------------------
// docs/PERFORMANCE.md
// ---------------------------------------------------------------------------

const MARK_START: &str = "<!-- bench:";
const MARK_END: &str = "<!-- /bench -->";

/// `page` with the text between each `<!-- bench:<name> -->` and the next `<!-- /bench -->` replaced by that
/// section. The prose around stays byte for byte; every section must have its markers, and every marker a section.
fn fill_page(page: &str, sections: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(page.len());
    let mut filled = Vec::new();
    let mut inside: Option<(usize, &str)> = None;
    for (n, line) in page.split_inclusive('\n').enumerate() {
        let t = line.trim();
        if let Some((start, name)) = inside {
            if t == MARK_END {
                inside = None;
                out.push_str(line);
            } else if t.starts_with(MARK_START) {
                return Err(format!("line {}: a new marker inside the section `{name}` of line {start}", n + 1));
            }
            continue;
        }
        out.push_str(line);
        if t == MARK_END {
            return Err(format!("line {}: {MARK_END} without a {MARK_START}… marker before it", n + 1));
        }
        let Some(name) = t.strip_prefix(MARK_START).and_then(|r| r.strip_suffix("-->")).map(str::trim) else { continue };
        let (name, text) =
            sections.iter().find(|(s, _)| *s == name).ok_or_else(|| format!("line {}: the bench writes no section `{name}`", n + 1))?;
        if filled.contains(name) {
            return Err(format!("line {}: a second section `{name}`", n + 1));
        }
        if !line.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        filled.push(*name);
        inside = Some((n + 1, name));
    }
    if let Some((start, name)) = inside {
        return Err(format!("line {start}: the section `{name}` has no {MARK_END}"));
    }
    let missing: Vec<&str> = sections.iter().map(|(n, _)| *n).filter(|n| !filled.contains(n)).collect();
    if !missing.is_empty() {
        return Err(format!("no {MARK_START}<name> --> section for {}", missing.join(", ")));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf();
    if std::env::var_os("BLUEGREEN_PROVIDER_DIR").is_none() {
        // The release build is what users run. (Set before anything reads the environment; one thread so far.)
        std::env::set_var("BLUEGREEN_PROVIDER_DIR", root.join("target/release"));
    }
    let settings = match Settings::from_env(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let started_at = Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().ok();
    let started = started_at.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let load_start = loadavg();
    let t0 = Instant::now();
    let env = test_env();
    eprintln!("bench: provider {}, terraform {}, LocalStack {}", env.provider_dir.display(), env.terraform.display(), env.endpoint);
    let logs = settings.out.join("logs");
    if let Err(e) = std::fs::create_dir_all(&logs) {
        eprintln!("bench: cannot create {}: {e}", logs.display());
        return ExitCode::from(2);
    }

    let handshake = settings.runs("handshake").then(|| handshakes(settings.handshakes));

    let proxy = Proxy::start();
    if settings.route53_rps > 0.0 {
        proxy.inject(Fault::throttling().on_service(ROUTE53).over_rate(settings.route53_rps, settings.route53_rps.max(1.0) as u32));
    }
    let bench = Bench { settings, proxy, logs };
    let rollout = bench.settings.runs("rollout").then(|| rollout(&bench, bench.settings.rollout_runs));
    let scale_results = bench.settings.runs("scale").then(|| bench.settings.sizes.iter().map(|&n| scale(&bench, n)).collect());
    let rate = bench.settings.runs("rate").then(|| rate_limited(&bench.settings, &bench.logs));

    let run = RunInfo { started, took: t0.elapsed(), machine: machine(&root, load_start), route53_rps: bench.settings.route53_rps };
    let this_run = Results {
        scale: scale_results.map(|result| Part { run: run.clone(), result }),
        handshake: handshake.map(|result| Part { run: run.clone(), result }),
        rollout: rollout.map(|result| Part { run: run.clone(), result }),
        rate: rate.map(|result| Part { run: run.clone(), result }),
    };
    let failed = this_run.problems();
    let json = bench.settings.out.join("results.json");
    let results = this_run.merge(Results::load(&json));
    let text = results.render();
    println!("\n{text}");
    let written = [
        (json.clone(), serde_json::to_string_pretty(&results).map_err(|e| e.to_string())),
        (bench.settings.out.join("results.md"), Ok(text)),
    ];
    for (file, contents) in written {
        match contents.and_then(|c| std::fs::write(&file, c).map_err(|e| e.to_string())) {
            Ok(()) => eprintln!("bench: wrote {}", file.display()),
            Err(e) => eprintln!("bench: cannot write {}: {e}", file.display()),
        }
    }
    eprintln!("bench: logs of every command in {}", bench.logs.display());
    if failed {
        eprintln!("bench: some measurements failed (see Problems in the report); docs/PERFORMANCE.md left as it was");
        return ExitCode::FAILURE;
    }
    let page = root.join("docs/PERFORMANCE.md");
    let filled = std::fs::read_to_string(&page).map_err(|e| e.to_string()).and_then(|p| fill_page(&p, &results.sections()));
    match filled.and_then(|p| std::fs::write(&page, p).map_err(|e| e.to_string())) {
        Ok(()) => {
            eprintln!("bench: wrote the generated sections of {}", page.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: cannot update {}: {e}", page.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(started: &str) -> RunInfo {
        RunInfo {
            started: started.into(),
            took: Duration::from_secs(540),
            machine: Machine {
                nproc: 2,
                cpu: "Test CPU".into(),
                mem: "8.0 GiB".into(),
                load_start: "1.00 2.00 3.00".into(),
                load_end: "4.00 5.00 6.00".into(),
                terraform: "Terraform v1.0.3".into(),
                localstack: "4.13.1".into(),
                provider: "target/release/terraform-provider-bluegreen (30.0 MB)".into(),
            },
            route53_rps: 0.0,
        }
    }

    fn measured(wall_ms: u64, route53: &[(&str, usize)], batches: &[usize], rss_kib: u64) -> Measured {
        Measured {
            ok: true,
            wall: Duration::from_millis(wall_ms),
            route53: route53.iter().map(|(op, n)| (op.to_string(), *n)).collect(),
            batches: batches.to_vec(),
            change_calls: batches.len(),
            peak_rss_kib: Some(rss_kib),
            providers: 2,
            load1: Some(1.5),
            ..Measured::default()
        }
    }

    fn results() -> Results {
        let n500 = ScaleResult {
            n: 500,
            setup: Some(measured(16_900, &[(CHANGE, 10), ("ListResourceRecordSets", 1)], &[100; 10], 23_250)),
            plan: Some(measured(2_900, &[("ListResourceRecordSets", 4)], &[], 21_600)),
            apply50: Some(measured(35_900, &[(CHANGE, 10), ("ListResourceRecordSets", 8)], &[100; 10], 24_512)),
            apply10: Some(measured(71_500, &[(CHANGE, 51), ("ListResourceRecordSets", 12)], &[20; 51], 22_700)),
            destroy: None,
            problems: Vec::new(),
        };
        let step = |green, wall, aws| StepTiming {
            green,
            wall: Duration::from_millis(wall),
            aws: Duration::from_millis(aws),
            bake: BAKE,
            took: Some(Duration::from_millis(40)),
        };
        let rate_row = |zones, label: &str, answered, calls: &[(&str, usize)]| RateRow {
            zones,
            label: label.into(),
            m: measured(10_200, calls, &[], 20_000),
            answered,
            throttled: 0,
            span: Duration::from_millis(8_700),
        };
        Results {
            scale: Some(Part { run: run("2026-11-30 00:00 UTC"), result: vec![n500] }),
            handshake: Some(Part {
                run: run("2026-11-30 00:00 UTC"),
                result: HandshakeResult { samples: [7, 3, 4, 5].map(Duration::from_millis).to_vec(), problem: None },
            }),
            rollout: Some(Part {
                run: run("2026-11-30 00:00 UTC"),
                result: RolloutResult {
                    runs: vec![measured(12_000, &[(CHANGE, 10)], &[2; 10], 20_000)],
                    steps: vec![step(10, 1_031, 2), step(20, 1_032, 1)],
                    in_step: vec![29.0, 30.0],
                    problems: Vec::new(),
                },
            }),
            rate: Some(Part {
                run: run("2026-11-29 21:14 UTC"),
                result: RateResult {
                    n: 200,
                    rows: vec![rate_row(1, "apply 0 → 50, `-parallelism=50`", 8, &[(CHANGE, 4), ("ListResourceRecordSets", 4)])],
                    problems: Vec::new(),
                },
            }),
        }
    }

    fn section<'a>(sections: &'a [(&str, String)], name: &str) -> &'a str {
        &sections.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no section {name}")).1
    }

    #[test]
    fn results_render_to_the_tables_of_the_page() {
        let sections = results().sections();
        assert_eq!(sections.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["targets", "scale", "handshake", "rollout", "rate"]);

        let targets = section(&sections, "targets");
        // Two runs, each once, with the parts it measured and what was read at run time.
        assert!(targets.contains(
            "- Run 2026-11-30 00:00 UTC (scale, start-up, rollout; 9 min): 2 cores (Test CPU), 8.0 GiB RAM, load average \
             (1, 5, 15 min) 1.00 2.00 3.00 at the start and 4.00 5.00 6.00 at the end, shared with other work. Terraform \
             v1.0.3, LocalStack 4.13.1 in host mode behind the recording proxy; provider \
             `target/release/terraform-provider-bluegreen (30.0 MB)`.\n"
        ));
        assert!(targets.contains("- Run 2026-11-29 21:14 UTC (rate-limited run; 9 min)"));
        assert!(
            targets.contains("| Route 53 read calls, plan of 500 switches in one zone | ≤ 5 | 4 (ListResourceRecordSets 4) | ✅ met |\n")
        );
        assert!(targets.contains(
            "| the same at the default parallelism 10 | ≤ 60 (vs 500 unbatched) | 51 requests; accepted batches 51: 20 ×51 | ✅ met |\n"
        ));
        assert!(targets.contains("| start → handshake line, median | ≤ 10 ms | 4.0 ms (min 3.0, p90 5.0, n = 3) | ✅ met |\n"));
        assert!(targets
            .contains("| provider peak RSS with 500 resources | ≤ 30 MB | 25.1 MB (largest over every command of N = 500) | ✅ met |\n"));
        assert!(targets.contains("| ≤ 50 ms | median 30.0 ms, max 31.0 ms (n = 2) | ✅ met |\n"), "{targets}");

        let scale = section(&sections, "scale");
        assert!(scale.starts_with("Measured in the run of 2026-11-30 00:00 UTC"));
        assert!(scale.contains("| 500 | plan (refresh all) | 2.9 s | ListResourceRecordSets 4 | – | 0 / 0 | –; – | 22.1 MB | 2 | 1.5 |\n"));
        assert!(scale.contains(
            "| 500 | apply 0 → 10, `-parallelism=50` | 35.9 s | ChangeResourceRecordSets 10, ListResourceRecordSets 8 | 10: 100 ×10 |"
        ));
        assert!(!scale.contains("destroy"), "a command not measured has no row");

        assert!(section(&sections, "handshake").contains("3 starts of the provider binary"));
        assert!(section(&sections, "handshake")
            .contains("min 3.0 ms, median 4.0 ms, p90 5.0 ms, max 5.0 ms. The first (cold) start, not counted: 7.0 ms."));
        assert!(section(&sections, "rollout").contains("| 10 | 1031.0 ms | 2.0 ms | 1000 ms | 29.0 ms | 40 |\n"));
        let rate = section(&sections, "rate");
        assert!(rate.starts_with("Measured in the run of 2026-11-29 21:14 UTC"));
        assert!(rate.contains(
            "| 1 | apply 0 → 50, `-parallelism=50` | 10.2 s | 8 (ChangeResourceRecordSets 4, ListResourceRecordSets 4) | 0 | 8.7 s | 1.6 s | 0 |\n"
        ));
    }

    #[test]
    fn a_skipped_part_keeps_its_previous_run_and_an_unmeasured_one_says_so() {
        let previous = results();
        let this_run = Results {
            handshake: Some(Part { run: run("2026-11-30 01:00 UTC"), result: HandshakeResult::default() }),
            ..Results::default()
        };
        let merged = this_run.merge(previous);
        assert_eq!(merged.handshake.as_ref().map(|p| p.run.started.as_str()), Some("2026-11-30 01:00 UTC"));
        assert_eq!(merged.rate.as_ref().map(|p| p.run.started.as_str()), Some("2026-11-29 21:14 UTC"));
        // The JSON file round-trips to the same page.
        let json = serde_json::to_string(&merged).expect("serializes");
        let back: Results = serde_json::from_str(&json).expect("parses");
        assert_eq!(back.render(), merged.render());

        let none = Results::default().sections();
        assert!(section(&none, "rate").starts_with("Not measured yet"));
        assert!(section(&none, "targets")
            .contains("| Route 53 read calls, plan of 500 switches in one zone | ≤ 5 | not measured (N = 500 not in BENCH_SIZES) | – |"));
    }

    #[test]
    fn the_page_changes_only_between_its_markers() {
        let page = "# P\n\nprose 1\n<!-- bench:a -->\nold a\n<!-- /bench -->\nprose 2\n<!-- bench:b -->\n<!-- /bench -->\nend\n";
        let sections = [("a", "new a\n".to_string()), ("b", "| t |".to_string())];
        let filled = fill_page(page, &sections).expect("fills");
        assert_eq!(
            filled,
            "# P\n\nprose 1\n<!-- bench:a -->\nnew a\n<!-- /bench -->\nprose 2\n<!-- bench:b -->\n| t |\n<!-- /bench -->\nend\n"
        );
        assert_eq!(fill_page(&filled, &sections).expect("fills again"), filled, "idempotent");

        for (bad, error) in [
            ("<!-- bench:a -->\nx\n", "the section `a` has no <!-- /bench -->"),
            ("<!-- /bench -->\n", "without a <!-- bench:… marker"),
            ("<!-- bench:a -->\n<!-- bench:b -->\n<!-- /bench -->\n", "a new marker inside the section `a`"),
            ("<!-- bench:c -->\n<!-- /bench -->\n", "the bench writes no section `c`"),
            ("<!-- bench:a -->\n<!-- /bench -->\n", "no <!-- bench:<name> --> section for b"),
            ("<!-- bench:a -->\n<!-- /bench -->\n<!-- bench:a -->\n<!-- /bench -->\n", "a second section `a`"),
        ] {
            let e = fill_page(bad, &sections).expect_err(bad);
            assert!(e.contains(error), "{bad:?}: {e}");
        }
    }
}
