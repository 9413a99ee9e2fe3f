//! The AWS side (issue 12), with the real terraform CLI and LocalStack
//! behind the recording, fault-injecting proxy: throttling is waited out,
//! the provider paces itself under a rate limit, INSYNC propagation is
//! waited for, credentials and account are checked up front, and every
//! failure gets a diagnostic a user can act on. After each scenario that
//! writes, the state is reality (the SDK reads LocalStack directly, and a
//! refresh-only plan finds nothing).
//!
//! What each scenario measured is printed (`--nocapture`) and summarised in
//! docs/guides/failure-modes.md.
//!
//! `cargo test -p bluegreen-acceptance --test aws_side -- --test-threads=4`

use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use bluegreen_acceptance::fixture;
use bluegreen_acceptance::proxy::{Call, Fault, Proxy, ELBV2, ROUTE53, STS};
use bluegreen_acceptance::{unique_suffix, Workdir};
use serde_json::Value;

const X: &str = "bluegreen_switch.x";
const C: &str = "canary_listener.x";
const CHANGE: &str = "ChangeResourceRecordSets";
const APPLY: &[&str] = &["apply", "-no-color", "-input=false", "-auto-approve"];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn summary(what: &str, proxy: &Proxy, op: &str) -> Vec<Call> {
    let calls = proxy.calls_to(op);
    println!(
        "{what}: {op}: {} call(s), {} injected, {} answered 2xx",
        calls.len(),
        calls.iter().filter(|c| c.injected()).count(),
        calls.iter().filter(|c| c.succeeded()).count()
    );
    calls
}

/// Calls that reached Route 53 or ELBv2 (STS's GetCallerIdentity aside).
fn aws_calls(proxy: &Proxy) -> Vec<Call> {
    proxy.calls().into_iter().filter(|c| c.service == ROUTE53 || c.service == ELBV2).collect()
}

/// A `bluegreen_switch` in a zone of its own, its provider talking to AWS
/// through a proxy of its own.
struct Switch {
    wd: Workdir,
    proxy: Proxy,
    zone_id: String,
    name: String,
}

impl Switch {
    fn new(prefix: &str) -> Switch {
        let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix(prefix));
        let proxy = Proxy::start();
        let wd = Workdir::new(&format!("aws-{prefix}")).with_proxy(&proxy);
        Switch { wd, proxy, zone_id, name: format!("api.{zone_name}") }
    }

    /// Created at `traffic` (no faults yet), calls forgotten.
    fn created(prefix: &str, traffic: i64) -> Switch {
        let s = Switch::new(prefix);
        s.config(traffic, "", "");
        s.wd.apply(&[]);
        s.proxy.reset();
        s
    }

    fn config(&self, traffic: i64, provider: &str, extra: &str) {
        self.wd.config(&format!(
            "provider \"bluegreen\" {{\n{provider}}}\n\nresource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{}\"\n  name    = \"{}\"\n\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n\n  traffic = {traffic}\n{extra}}}\n",
            self.zone_id, self.name
        ));
    }

    fn green_in_aws(&self) -> i64 {
        let w = fixture::weights(&self.zone_id, &self.name);
        assert_eq!(w.len(), 2, "expected the weighted pair: {w:?}");
        w.iter().find(|(id, _)| id == "green").map(|(_, w)| *w).expect("green weight")
    }

    /// State equals what the SDK reads, and a refresh-only plan (faults
    /// cleared) finds nothing to change. Returns the traffic.
    #[track_caller]
    fn assert_state_is_reality(&self) -> i64 {
        self.proxy.clear_faults();
        let green = self.green_in_aws();
        let s = self.wd.state_resource(X).unwrap_or_else(|| panic!("{X} is not in the state"));
        assert_eq!(s["traffic"], green, "state traffic vs Route 53; state: {s:#}");
        assert_eq!((s["blue_weight"].clone(), s["green_weight"].clone()), (Value::from(100 - green), Value::from(green)), "state: {s:#}");
        let refresh = self.wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
        assert_eq!(refresh.code(), Some(0), "a refresh-only plan found a difference between state and Route 53\n{refresh}");
        green
    }
}

fn rollout_tf(steps: &[i64], bake: &str) -> String {
    let steps = steps.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    format!("\n  rollout {{\n    steps     = [{steps}]\n    bake_time = \"{bake}\"\n  }}\n")
}

// ---------------------------------------------------------------------------
// Throttling is waited out
// ---------------------------------------------------------------------------

/// 10 throttles in a row on the write: waited out, applied once.
#[test]
fn ten_throttles_on_change_resource_record_sets() {
    let s = Switch::created("tw", 0);
    s.config(50, "", "");
    s.proxy.inject(Fault::throttling().on(CHANGE).first(10));
    let out = s.wd.apply(&[]);
    let writes = summary("apply, 10 throttled writes", &s.proxy, CHANGE);
    println!("apply took {:.1?}", out.elapsed);
    assert_eq!(writes.iter().filter(|c| c.injected()).count(), 10);
    assert_eq!(writes.iter().filter(|c| c.succeeded()).count(), 1, "applied exactly once");
    assert_eq!(s.assert_state_is_reality(), 50);
}

/// 10 throttles in a row on the read during plan: waited out, the plan is right.
#[test]
fn ten_throttles_on_list_resource_record_sets_during_plan() {
    let s = Switch::created("tp", 0);
    s.config(50, "", "");
    s.proxy.inject(Fault::throttling().on("ListResourceRecordSets").first(10));
    let plan = s.wd.plan(&["-detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "{plan}");
    assert!(plan.has_line("~ traffic = 0 -> 50"), "{plan}");
    let reads = summary("plan, 10 throttled reads", &s.proxy, "ListResourceRecordSets");
    println!("plan took {:.1?}", plan.elapsed);
    assert_eq!(reads.iter().filter(|c| c.injected()).count(), 10);
    assert_eq!(s.proxy.count(CHANGE), 0, "a plan wrote");
}

/// 60 s of throttling of every Route 53 call, starting right after the
/// first rollout step's write: the rollout waits it out and converges.
#[test]
fn sixty_seconds_of_route53_throttling_during_a_rollout_step() {
    let s = Switch::created("ts", 0);
    s.config(100, "", &rollout_tf(&[10, 50], "1s"));
    let out = thread::scope(|scope| {
        let apply = scope.spawn(|| s.wd.run_with_env(APPLY, &[("TF_LOG", "INFO")]));
        assert!(s.proxy.wait_for(CHANGE, 1, Duration::from_secs(120)), "the first step was never written");
        s.proxy.inject(Fault::throttling().on_service(ROUTE53).for_duration(Duration::from_secs(60)));
        apply.join().expect("apply thread")
    });
    out.assert_success();
    let throttled = s.proxy.faults();
    let writes = summary("rollout under 60 s of Route 53 throttling", &s.proxy, CHANGE);
    let span = throttled.last().map(|l| l.at - throttled[0].at).unwrap_or_default();
    let waits = out.stderr.lines().filter(|l| l.contains("retrying in") && l.contains("waited")).count();
    println!("60 s throttling: {} throttled answers over {span:.1?}, apply {:.1?}, {waits} INFO wait lines", throttled.len(), out.elapsed);
    // The last throttled answer comes within one capped backoff (8 s) of the 60 s window's end.
    assert!(span + Duration::from_secs(8) >= Duration::from_secs(60), "the throttling did not last: {span:?}");
    assert!(waits >= 1, "no INFO line told about the waits\n{out}");
    assert_eq!(writes.iter().filter(|c| c.succeeded()).count(), 3, "steps 10, 50, 100: one write each");
    assert_eq!(s.assert_state_is_reality(), 100);
}

/// Ctrl-C while a write waits out throttling: terraform stops within
/// seconds, nothing was applied, the state says so.
#[test]
fn ctrl_c_during_a_long_throttle_wait_stops_promptly() {
    let s = Switch::created("tc", 0);
    s.config(50, "", "");
    s.proxy.inject(Fault::throttling().on(CHANGE));
    let signalled = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let at = signalled.clone();
    let out = s.wd.run_interrupted(APPLY, &[("TF_LOG", "INFO")], move |line| {
        let hit = line.contains("ChangeResourceRecordSets: Throttling; retrying in");
        if hit {
            at.lock().unwrap().get_or_insert_with(Instant::now);
        }
        hit
    });
    let since = signalled.lock().unwrap().map(|t| t.elapsed()).expect("signalled");
    println!("Ctrl-C during a throttle wait: terraform ended {since:.1?} after the signal, {:.1?} in all", out.elapsed);
    out.assert_failure();
    assert!(since < Duration::from_secs(10), "terraform took {since:?} to stop\n{out}");
    let writes = summary("Ctrl-C during throttling", &s.proxy, CHANGE);
    assert_eq!(writes.iter().filter(|c| c.succeeded()).count(), 0);
    assert!(out.errors().iter().any(|e| e.summary.contains("stopped")), "{out}");
    assert_eq!(s.assert_state_is_reality(), 0);
}

// ---------------------------------------------------------------------------
// The provider paces itself
// ---------------------------------------------------------------------------

/// Route 53 held to 5 requests a second by the proxy (Throttling beyond
/// it) while many switches shift at -parallelism=50: nothing surfaces,
/// and the wall time is reported against the floor calls ÷ rate. (Writes
/// of one zone are batched, so 200 switches cost few Route 53 calls.)
#[test]
fn many_switches_under_route53s_rate_limit() {
    const N: usize = 200;
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("rl"));
    let proxy = Proxy::start();
    let wd = Workdir::new("aws-rate").with_proxy(&proxy).with_timeout(Duration::from_secs(900));
    let config = |traffic: i64| {
        wd.config(&format!(
            "resource \"bluegreen_switch\" \"s\" {{\n  count   = {N}\n  zone_id = \"{zone_id}\"\n  name    = \"svc${{count.index}}.{zone_name}\"\n\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n\n  traffic = {traffic}\n}}\n"
        ));
    };
    config(0);
    wd.apply(&["-parallelism=50"]);
    proxy.reset();
    proxy.inject(Fault::throttling().on_service(ROUTE53).over_rate(5.0, 5));
    config(50);
    let out = wd.apply(&["-parallelism=50"]);
    let r53: Vec<Call> = proxy.calls().into_iter().filter(|c| c.service == ROUTE53).collect();
    let throttled = r53.iter().filter(|c| c.injected()).count();
    let answered = r53.len() - throttled;
    let span = r53.last().map(|l| l.at - r53[0].at).unwrap_or_default();
    let floor = answered as f64 / 5.0;
    println!(
        "{N} switches at 5 req/s: {} Route 53 calls ({answered} answered, {throttled} throttled), calls span {:.1}s, floor {floor:.1}s, apply {:.1?}",
        r53.len(),
        span.as_secs_f64(),
        out.elapsed
    );
    assert!(out.errors().is_empty(), "{out}");
    for i in [0, N / 2, N - 1] {
        let w = fixture::weights(&zone_id, &format!("svc{i}.{zone_name}"));
        assert!(w.contains(&("green".to_string(), 50)), "svc{i}: {w:?}");
    }
    assert!(throttled * 5 <= r53.len(), "more than one call in five was throttled: {throttled} of {}", r53.len());
}

// ---------------------------------------------------------------------------
// INSYNC propagation
// ---------------------------------------------------------------------------

/// GetChange answers PENDING for 20 s: the apply waits, then succeeds.
#[test]
fn getchange_pending_for_20s_is_waited_for() {
    let s = Switch::created("ps", 0);
    s.config(50, "", "");
    s.proxy.inject(Fault::pending().on(CHANGE));
    s.proxy.inject(Fault::pending().on("GetChange").for_duration(Duration::from_secs(20)));
    let out = s.wd.apply(&[]);
    let polls = summary("PENDING for 20 s", &s.proxy, "GetChange");
    let pending = polls.iter().filter(|c| c.injected()).count();
    println!("PENDING for 20 s: {} polls ({pending} PENDING), apply {:.1?}", polls.len(), out.elapsed);
    assert!(pending >= 3 && polls.len() > pending, "{polls:?}");
    assert!(out.elapsed >= Duration::from_secs(20), "the apply did not wait: {:?}", out.elapsed);
    assert_eq!(s.assert_state_is_reality(), 50);
}

/// PENDING past sync_timeout: a clear error saying what Route 53 holds and
/// that the change will still propagate; the state holds the new split.
#[test]
fn pending_past_sync_timeout_is_a_clear_error_with_a_true_state() {
    let s = Switch::created("pt", 0);
    s.config(50, "", "  sync_timeout = \"5s\"\n");
    s.proxy.inject(Fault::pending().on(CHANGE));
    s.proxy.inject(Fault::pending().on("GetChange"));
    let out = s.wd.apply_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- PENDING past sync_timeout:\n{e}\n");
    assert_eq!(e.summary, "Route 53 change still propagating");
    let d = e.detail();
    assert!(d.contains("not INSYNC after 5s") && d.contains("will still propagate"), "{e}");
    assert!(d.contains("green=50") && d.contains("blue=50"), "the error does not say what Route 53 holds: {e}");
    assert_eq!(s.assert_state_is_reality(), 50);
}

// ---------------------------------------------------------------------------
// Credentials, account, and errors users can act on
// ---------------------------------------------------------------------------

const ZONE_DS: &str = "data \"bluegreen_hosted_zone\" \"z\" {\n  name = \"example.com\"\n}\n";

/// No AWS credentials anywhere: one error on the provider block that says
/// so, lists the sources tried and how to provide them; nothing reaches AWS.
#[test]
fn no_credentials_is_one_clear_error() {
    let proxy = Proxy::start();
    let wd = Workdir::new("aws-nocreds").with_proxy(&proxy).without_credentials();
    wd.config(&format!("provider \"bluegreen\" {{}}\n\n{ZONE_DS}\nresource \"bluegreen_switch\" \"x\" {{\n  zone_id = data.bluegreen_hosted_zone.z.zone_id\n  name    = \"api.example.com\"\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n  traffic = 0\n}}\n"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- no credentials:\n{e}\n");
    assert_eq!(e.summary, "No AWS credentials found");
    let d = e.detail();
    for needle in ["AWS_ACCESS_KEY_ID", "~/.aws/credentials", "AWS_PROFILE", "IMDS", "aws configure"] {
        assert!(d.contains(needle), "{needle:?} missing from: {e}");
    }
    assert!(proxy.calls().is_empty(), "a call went out without credentials: {:?}", proxy.calls());
}

/// An endpoint nothing listens on: the error names the service and the URL.
#[test]
fn an_unreachable_endpoint_names_the_service_and_url() {
    let url = "http://127.0.0.1:9";
    let wd = Workdir::new("aws-unreach").with_endpoint(url);
    wd.config(&format!("provider \"bluegreen\" {{}}\n\n{ZONE_DS}"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- unreachable (credentials check):\n{e}\n");
    assert!(e.summary.ends_with("cannot reach AWS"), "{e}");
    assert!(e.detail().contains(&format!("could not reach STS at {url}")), "{e}");

    wd.config(&format!("provider \"bluegreen\" {{\n  skip_credentials_validation = true\n}}\n\n{ZONE_DS}"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- unreachable (first read):\n{e}\n");
    assert!(e.summary.ends_with("cannot reach AWS"), "{e}");
    assert!(e.detail().contains(&format!("could not reach Route 53 at {url}")), "{e}");
}

/// `AWS_ENDPOINT_URL` without a scheme (`127.0.0.1:45135`, as easily typed): refused before any call, naming the
/// variable and what is wrong, not an SDK request dump read as a lost connection (issue 19).
#[test]
fn an_endpoint_variable_without_a_scheme_is_refused_before_any_call() {
    let proxy = Proxy::start();
    let bare = proxy.endpoint().trim_start_matches("http://").to_string();
    let wd = Workdir::new("aws-noscheme").with_endpoint(&bare);
    wd.config(&format!("provider \"bluegreen\" {{}}\n\n{ZONE_DS}"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- AWS_ENDPOINT_URL without a scheme:\n{e}\n");
    assert_eq!(e.summary, "Invalid endpoint URL in AWS_ENDPOINT_URL", "{e}");
    assert!(e.detail().contains(&format!("\"{bare}\" is not an http:// or https:// URL")), "{e}");
    assert!(e.detail().contains("nothing was sent"), "{e}");
    assert!(proxy.calls().is_empty(), "a call went out: {:?}", proxy.calls());
}

/// `https://` to an endpoint that speaks plain HTTP (LocalStack's default): the TLS handshake fails, and the error
/// says so with the URL, not "the connection was lost after the request was sent" (issue 19).
#[test]
fn https_to_a_plain_http_endpoint_says_the_tls_handshake_failed() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let wd = Workdir::new("aws-tls").with_endpoint(&url);
    wd.config(&format!("provider \"bluegreen\" {{}}\n\n{ZONE_DS}"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- https to plain HTTP:\n{e}\n");
    assert!(e.summary.ends_with("TLS handshake failed"), "{e}");
    let d = e.detail();
    assert!(d.contains(&format!("TLS handshake with {url} failed: received corrupt message")), "{e}");
    assert!(d.contains("(is the endpoint plain HTTP?)") && d.contains("No request was sent"), "{e}");
    assert!(!d.contains("lost or timed out"), "{e}");

    // What the user hit: https:// to LocalStack, which answers TLS on its port with a certificate nobody trusts.
    let url = bluegreen_acceptance::test_env().endpoint.replacen("http://", "https://", 1);
    let wd = Workdir::new("aws-tls-localstack").with_endpoint(&url);
    wd.config(&format!("provider \"bluegreen\" {{}}\n\n{ZONE_DS}"));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- https to LocalStack:\n{e}\n");
    assert!(e.detail().contains(&format!("TLS handshake with {url} failed: invalid peer certificate")), "{e}");
    assert!(e.detail().contains("(is the endpoint plain HTTP?)"), "{e}");
}

/// AccessDenied on the write: a permission error naming the action and the
/// resource; nothing written, the state is true.
#[test]
fn access_denied_names_the_action_and_resource() {
    let s = Switch::created("ad", 0);
    s.config(50, "", "");
    let message = format!(
        "User: arn:aws:iam::000000000000:user/cutover is not authorized to perform: route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/{}",
        s.zone_id.trim_start_matches("/hostedzone/")
    );
    s.proxy.inject(Fault::error(403, "AccessDenied", &message).on(CHANGE));
    let out = s.wd.apply_output(&[]);
    out.assert_failure();
    let e = out.only_error();
    println!("---- AccessDenied:\n{e}\n");
    assert!(e.summary.ends_with("permission denied for route53:ChangeResourceRecordSets"), "{e}");
    assert!(e.detail().contains("route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/"), "{e}");
    assert_eq!(s.proxy.calls_to(CHANGE).len(), 1, "AccessDenied was retried");
    assert_eq!(s.assert_state_is_reality(), 0);
}

/// The credentials belong to another account than allowed_account_ids (or
/// to a forbidden one): one error at the attribute, before any read.
#[test]
fn a_wrong_account_is_refused_before_any_read() {
    let s = Switch::created("wa", 0);
    for (attribute, provider) in [
        ("allowed_account_ids", "  allowed_account_ids = [\"111111111111\"]\n"),
        ("forbidden_account_ids", "  forbidden_account_ids = [\"000000000000\"]\n"),
    ] {
        s.proxy.reset();
        s.config(50, provider, "");
        let out = s.wd.apply_output(&[]);
        out.assert_failure();
        let e = out.only_error();
        println!("---- {attribute}:\n{e}\n");
        assert_eq!(e.summary, format!("Invalid {attribute}"));
        assert!(e.body.contains(attribute) && e.detail().contains("000000000000"), "{e}");
        assert!(aws_calls(&s.proxy).is_empty(), "the provider read or wrote: {:?}", aws_calls(&s.proxy));
        assert!(s.proxy.count_where(|c| c.service == STS && c.operation == "GetCallerIdentity") >= 1);
    }
    s.config(0, "  allowed_account_ids = [\"000000000000\"]\n", "");
    assert_eq!(s.assert_state_is_reality(), 0);
}

// ---------------------------------------------------------------------------
// canary_listener: throttled ELBv2 calls
// ---------------------------------------------------------------------------

struct Alb {
    s: fixture::LegacyStack,
    green_tg: String,
}

fn alb() -> &'static Alb {
    static ALB: OnceLock<Alb> = OnceLock::new();
    ALB.get_or_init(|| {
        let s = fixture::legacy_stack(&unique_suffix("as"));
        let green_tg = fixture::green_target_group(&s, &["i-0feedfacecafe0002".to_string()]);
        Alb { s, green_tg }
    })
}

fn listener(port: i32) -> String {
    fixture::extra_listener(&alb().s, port)
}

/// `(blue, green)` weights of the canary's rule, read with the SDK.
fn rule_weights(listener: &str, rule_arn: &str) -> (i32, i32) {
    let a = alb();
    fixture::rule_weights(listener, rule_arn, &a.s.tg_arn, &a.green_tg)
}

/// 10 throttles in a row on DescribeRules and on ModifyRule: waited out,
/// the update's one ModifyRule applied once.
#[test]
fn ten_throttles_on_describe_rules_and_modify_rule() {
    let listener = listener(8091);
    let a = alb();
    let proxy = Proxy::start();
    let wd = Workdir::new("aws-canary").with_proxy(&proxy);
    let config = |traffic: i64| {
        wd.config(&format!(
            "resource \"canary_listener\" \"x\" {{\n  provider     = bluegreen\n  listener_arn = \"{listener}\"\n  priority     = 100\n\n  blue_target_group_arn  = \"{}\"\n  green_target_group_arn = \"{}\"\n  traffic                = {traffic}\n}}\n",
            a.s.tg_arn, a.green_tg
        ))
    };
    config(0);
    wd.apply(&[]);
    proxy.reset();
    config(40);
    proxy.inject(Fault::throttling().on("DescribeRules").first(10));
    proxy.inject(Fault::throttling_exception().on("ModifyRule").first(10));
    let out = wd.apply(&[]);
    println!("canary apply with 10 + 10 throttles: {:.1?}", out.elapsed);
    let reads = summary("canary", &proxy, "DescribeRules");
    let writes = summary("canary", &proxy, "ModifyRule");
    assert_eq!(reads.iter().filter(|c| c.injected()).count(), 10);
    assert_eq!(writes.iter().filter(|c| c.injected()).count(), 10);
    // A traffic-only update writes the rule once, throttled or not: the rule
    // already has its conditions and stickiness, so only the traffic change
    // is sent (issue 23). It landed once.
    assert_eq!(writes.iter().filter(|c| c.succeeded()).count(), 1, "the ModifyRule applied once");
    proxy.clear_faults();
    let s = wd.state_resource(C).expect("canary in state");
    let rule = s["rule_arn"].as_str().expect("rule_arn");
    assert_eq!(rule_weights(&listener, rule).1 as i64, s["green_weight"].as_i64().expect("green_weight"));
    let refresh = wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
    assert_eq!(refresh.code(), Some(0), "{refresh}");
}
