//! A recording, fault-injecting HTTP proxy between the provider and LocalStack.
//!
//! LocalStack never throttles, never answers 5xx and never loses a
//! connection, and it cannot tell how many calls a plan made. The tests own
//! this proxy instead: terraform starts the provider with `AWS_ENDPOINT_URL`
//! pointing at it ([`Workdir::with_proxy`](crate::Workdir::with_proxy)), and
//! it forwards every request to LocalStack, records it as a [`Call`] and,
//! when a [`Rule`] says so, answers with a [`Fault`] instead.
//!
//! ```no_run
//! use bluegreen_acceptance::proxy::{Fault, Proxy, ROUTE53};
//! use bluegreen_acceptance::Workdir;
//!
//! let proxy = Proxy::start();
//! let wd = Workdir::new("throttled-apply").with_proxy(&proxy);
//! wd.config("# a bluegreen_switch …");
//!
//! // Counting: what one plan costs, by Route 53 operation.
//! wd.plan(&[]);
//! let plan_calls = proxy.counts_for(ROUTE53); // {"GetHostedZone": 1, "ListResourceRecordSets": 2, …}
//! proxy.reset(); // forget the calls, keep the rules
//!
//! // Faults: the first two writes are throttled, the SDK retries, the apply succeeds.
//! proxy.inject(Fault::throttling().on("ChangeResourceRecordSets").first(2));
//! wd.apply(&[]);
//! let writes = proxy.calls_to("ChangeResourceRecordSets");
//! assert_eq!(writes.iter().filter(|c| c.injected()).count(), 2);
//! assert_eq!(writes.last().unwrap().status, Some(200));
//!
//! // The ambiguous failure: the change lands in LocalStack, the client gets a 500.
//! proxy.clear_faults();
//! proxy.inject(Fault::forward_then_fail().on("ChangeResourceRecordSets").body_contains("green").first(1));
//! # let _ = plan_calls;
//! ```
//!
//! # What is recorded
//!
//! Every request, in arrival order ([`Call::seq`]): the service (the signing
//! name from the SigV4 credential scope: [`ROUTE53`], [`ELBV2`], [`EC2`],
//! [`STS`], [`CLOUDWATCH`]), the operation (Route 53 from its REST path,
//! CloudWatch from its RPC v2 path, the others from the Query `Action`), the status the client got, the AWS error code (injected
//! or LocalStack's), the fault if one was injected, the duration, the SDK's
//! attempt number and invocation id (the same across retries of one call),
//! and for `ChangeResourceRecordSets` the number of `<Change>`s in the batch.
//! The `Authorization`, `X-Amz-Security-Token`, `Cookie` headers are never
//! stored, nor are signatures or tokens in the query string or a Query body;
//! response bodies are not stored at all (STS answers carry credentials).
//!
//! A call is recorded once it is answered, so [`Proxy::calls`] only shows
//! answered calls; [`Proxy::wait_idle`] waits for the ones in flight.
//!
//! # Rules
//!
//! A [`Rule`] is a fault plus what it matches (an operation, a service, a
//! predicate on the request) and a schedule ([`Rule::first`],
//! [`Rule::every`], [`Rule::with_probability`], always by default, after
//! [`Rule::after`] untouched calls). Each rule counts the calls it matches
//! from the moment it is injected. A call is offered to the rules in the
//! order they were injected; the first rule that fires decides, and the
//! rules after it do not see the call. So rules with `.first(1)` injected
//! one after the other make a script: the first write is throttled, the
//! second gets `PriorRequestNotComplete`, the third goes through.
//! Predicates run with the proxy's lock held: they must not call the proxy.
//!
//! [`Proxy::reset`] forgets the recorded calls (between a plan and an apply,
//! say) and keeps the rules; [`Proxy::clear_faults`] removes the rules.
//!
//! Faults ([`Fault`]) are AWS errors in the exact wire shape of the service
//! called, plain HTTP statuses, connection resets, delays, and any of these
//! *after* forwarding ([`Fault::forward_then`]): the request reaches
//! LocalStack, its effect lands, and the client still sees a failure.
//!
//! The proxy runs on a thread of its own with its own Tokio runtime, so it
//! works from plain `#[test]`s and from inside [`block_on`](crate::block_on)
//! alike. Dropping the [`Proxy`] stops it.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Route 53's SigV4 signing name.
pub const ROUTE53: &str = "route53";
/// ELBv2's SigV4 signing name (the Query API of Elastic Load Balancing).
pub const ELBV2: &str = "elasticloadbalancing";
/// EC2's signing name (only the test fixtures call EC2).
pub const EC2: &str = "ec2";
/// STS's signing name (assume_role).
pub const STS: &str = "sts";
/// CloudWatch's signing name (health gates). aws-sdk-cloudwatch speaks
/// Smithy RPC v2 CBOR: `POST /service/GraniteServiceVersion20100801/operation/<Op>`.
pub const CLOUDWATCH: &str = "monitoring";

/// The operation name of a request that could not be classified.
pub const UNKNOWN: &str = "Unknown";

const ROUTE53_XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

// ---------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------

/// One request the proxy received, and what became of it.
///
/// Rule predicates ([`Rule::when`]) see a `Call` before it is answered: the
/// request fields are set, the outcome fields (`status`, `error_code`,
/// `fault`, `forwarded`, `upstream_status`, `duration`) are still empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Arrival order, from 0 (not reset by [`Proxy::reset`]).
    pub seq: u64,
    /// When the request arrived, since the proxy started.
    pub at: Duration,
    /// The SigV4 signing name: [`ROUTE53`], [`ELBV2`], [`EC2`], [`STS`], …
    pub service: String,
    /// The AWS operation, e.g. `ListResourceRecordSets`, `DescribeRules`; [`UNKNOWN`] if unrecognised.
    pub operation: String,
    /// The HTTP method.
    pub method: String,
    /// Path and query as sent (signatures and tokens in the query replaced by `REDACTED`).
    pub path: String,
    /// Request headers in order, lower-case names, without credentials.
    pub headers: Vec<(String, String)>,
    /// The request body (UTF-8, lossy; tokens in a Query body replaced by `REDACTED`).
    pub body: String,
    /// The SDK's attempt number (`amz-sdk-request: attempt=2; max=3`): 1 for a first try.
    pub attempt: Option<u32>,
    /// The SDK's `amz-sdk-invocation-id`: the same for every retry of one SDK call.
    pub invocation_id: Option<String>,
    /// `ChangeResourceRecordSets`: how many `<Change>`s the batch holds.
    pub changes: Option<usize>,
    /// The fault injected into this call, if any.
    pub fault: Option<Fault>,
    /// Whether the request reached LocalStack.
    pub forwarded: bool,
    /// LocalStack's status, when forwarded (it differs from `status` for [`Fault::forward_then`]).
    pub upstream_status: Option<u16>,
    /// The status the client got; `None` when the connection was reset.
    pub status: Option<u16>,
    /// The AWS error code the client got (injected, or LocalStack's own).
    pub error_code: Option<String>,
    /// From the request's arrival to its answer (or reset).
    pub duration: Duration,
}

impl Call {
    /// Whether a fault was injected into this call.
    pub fn injected(&self) -> bool {
        self.fault.is_some()
    }

    /// Whether the client got a 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `service:Operation`, e.g. `route53:GetChange`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }

    /// A Query-protocol parameter (`Action`, `ListenerArn`, `Names.member.1` …),
    /// URL-decoded, from the body or the query string.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.path.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_params(&self.body).chain(form_params(query)).find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether the body contains `needle`, as sent or (for a Query body) URL-decoded.
    pub fn body_contains(&self, needle: &str) -> bool {
        self.body.contains(needle) || (self.body.contains('%') && percent_decode(&self.body).contains(needle))
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} {} {}", self.seq, self.key(), self.method, self.path)?;
        match self.status {
            Some(s) => write!(f, " → {s}")?,
            None => write!(f, " → reset")?,
        }
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        if let Some(fault) = &self.fault {
            write!(f, " (injected {fault:?})")?;
        }
        write!(f, " in {:.1?}", self.duration)
    }
}

// ---------------------------------------------------------------------------
// Faults and rules
// ---------------------------------------------------------------------------

/// What the proxy does instead of (or after) forwarding a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An AWS error in the wire shape of the service called: Route 53
    /// REST-XML `<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>…`,
    /// Query (ELBv2, STS) `<ErrorResponse><Error><Type><Code><Message></Error><RequestId>`,
    /// EC2 `<Response><Errors><Error><Code><Message></Error></Errors><RequestID>`.
    /// `Type` is `Sender` for 4xx and `Receiver` for 5xx.
    Error { status: u16, code: String, message: String },
    /// Route 53's `InvalidChangeBatch` as Route 53 sends it today: HTTP 400,
    /// the standard `<ErrorResponse>`, and the messages joined as
    /// `<Message>[first, second]</Message>` (see [`Fault::InvalidChangeBatchDocumented`]).
    InvalidChangeBatch { messages: Vec<String> },
    /// The `<InvalidChangeBatch xmlns=…><Messages><Message>…</Message></Messages><RequestId>`
    /// body of the Route 53 API reference (HTTP 400). AWS stopped sending it
    /// (other SDKs removed their parsers for it in 2024); the Rust SDK cannot
    /// parse it and reports an unhandled error without a code.
    InvalidChangeBatchDocumented { messages: Vec<String> },
    /// A bare HTTP status with an empty body (a load balancer's 5xx, not AWS's).
    Http(u16),
    /// Drop the connection with a TCP reset, without an answer.
    ConnectionReset,
    /// Hold the request this long, then carry on (forward it, or after
    /// [`Fault::forward_then`], answer). The request is forwarded even if the
    /// client has given up meanwhile, as AWS would still process it.
    Delay(Duration),
    /// Forward the request (its effect lands in LocalStack), then answer
    /// with the inner fault instead of LocalStack's answer.
    AfterForward(Box<Fault>),
    /// Forward the request, then answer with LocalStack's answer where a
    /// Route 53 `<ChangeInfo>` says `<Status>INSYNC</Status>` made
    /// `PENDING` (LocalStack is INSYNC at once; AWS takes up to a minute).
    /// Inject it on `ChangeResourceRecordSets` (so the provider waits at
    /// all) and on `GetChange` for as many polls, or as long, as the change
    /// should stay PENDING.
    Pending,
}

impl Fault {
    /// Any AWS error, in the shape of the service called.
    pub fn error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Error { status, code: code.into(), message: message.into() }
    }

    /// `Throttling` "Rate exceeded" (400): Route 53's throttling error, and
    /// what the ELBv2 Query API sends too.
    pub fn throttling() -> Fault {
        Fault::error(400, "Throttling", "Rate exceeded")
    }

    /// `ThrottlingException` "Rate exceeded" (400), as the ELBv2 API reference documents it.
    pub fn throttling_exception() -> Fault {
        Fault::error(400, "ThrottlingException", "Rate exceeded")
    }

    /// Route 53's `PriorRequestNotComplete` (400): the zone is still busy with an earlier change.
    pub fn prior_request_not_complete() -> Fault {
        Fault::error(400, "PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.")
    }

    /// Route 53's `InvalidChangeBatch` (400) with these messages, as AWS sends it today.
    pub fn invalid_change_batch<S: AsRef<str>>(messages: &[S]) -> Fault {
        Fault::InvalidChangeBatch { messages: messages.iter().map(|m| m.as_ref().to_string()).collect() }
    }

    /// `InternalFailure` (500), AWS-shaped.
    pub fn internal_failure() -> Fault {
        Fault::error(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
    }

    /// `ServiceUnavailable` (503), AWS-shaped.
    pub fn service_unavailable() -> Fault {
        Fault::error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
    }

    /// A bare HTTP status, empty body.
    pub fn http(status: u16) -> Fault {
        Fault::Http(status)
    }

    /// A TCP reset instead of an answer; the request is not forwarded.
    pub fn connection_reset() -> Fault {
        Fault::ConnectionReset
    }

    /// Hold the request for `d`, then forward it.
    pub fn delay(d: Duration) -> Fault {
        Fault::Delay(d)
    }

    /// Forward, then answer [`Fault::internal_failure`] (500): the request
    /// took effect, the client cannot know.
    pub fn forward_then_fail() -> Fault {
        Fault::forward_then(Fault::internal_failure())
    }

    /// Forward, then answer with `fault` instead of LocalStack's answer
    /// (an error, a reset, or a delay before the real answer).
    pub fn forward_then(fault: Fault) -> Fault {
        match fault {
            Fault::AfterForward(inner) => Fault::AfterForward(inner),
            f => Fault::AfterForward(Box::new(f)),
        }
    }

    /// Forward, and report a Route 53 change as PENDING (see [`Fault::Pending`]).
    pub fn pending() -> Fault {
        Fault::Pending
    }

    /// A rule injecting this fault into calls of `operation` (any service).
    pub fn on(self, operation: &str) -> Rule {
        Rule::new(self, Scope::Operation(operation.to_string()))
    }

    /// A rule injecting this fault into every call to `service` ([`ROUTE53`], [`ELBV2`] …).
    pub fn on_service(self, service: &str) -> Rule {
        Rule::new(self, Scope::Service(service.to_string()))
    }

    /// A rule injecting this fault into any call.
    pub fn on_any_call(self) -> Rule {
        Rule::new(self, Scope::Any)
    }

    /// The AWS error code a client sees for this fault, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Fault::Error { code, .. } => Some(code),
            Fault::InvalidChangeBatch { .. } | Fault::InvalidChangeBatchDocumented { .. } => Some("InvalidChangeBatch"),
            Fault::AfterForward(inner) => inner.code(),
            Fault::Http(_) | Fault::ConnectionReset | Fault::Delay(_) | Fault::Pending => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Scope {
    Any,
    Service(String),
    Operation(String),
}

/// When a rule fires, counting the calls it matches (1, 2, 3 …).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Every matching call.
    Always,
    /// The first `n` matching calls.
    First(u64),
    /// Matching calls `n`, `2n`, `3n` …
    Every(u64),
    /// Each matching call with probability `p`, from a generator seeded with
    /// `seed`: the same seed gives the same decisions for the same sequence of calls.
    Probability { p: f64, seed: u64 },
    /// Every matching call that arrives within this long of the first one
    /// the rule matched (after [`Rule::after`]): "throttled for 60 s".
    During(Duration),
    /// A token bucket: matching calls take a token, `burst` at most, refilled
    /// at `rate` a second; the rule fires on a call that finds none. With
    /// [`Fault::throttling`] on a service, this is AWS's own rate limit.
    Rate { rate: f64, burst: u32 },
}

type Predicate = Arc<dyn Fn(&Call) -> bool + Send + Sync>;

/// A fault, the calls it applies to, and when. Made from a [`Fault`]:
/// `Fault::throttling().on("ChangeResourceRecordSets").first(2)`.
#[derive(Clone)]
pub struct Rule {
    fault: Fault,
    scope: Scope,
    service: Option<String>,
    predicates: Vec<Predicate>,
    schedule: Schedule,
    skip: u64,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("fault", &self.fault)
            .field("scope", &self.scope)
            .field("service", &self.service)
            .field("predicates", &self.predicates.len())
            .field("schedule", &self.schedule)
            .field("after", &self.skip)
            .finish()
    }
}

impl Rule {
    fn new(fault: Fault, scope: Scope) -> Rule {
        Rule { fault, scope, service: None, predicates: Vec::new(), schedule: Schedule::Always, skip: 0 }
    }

    /// Only calls to this service (with [`Fault::on`], when an operation name exists in two services).
    pub fn service(mut self, service: &str) -> Rule {
        self.service = Some(service.to_string());
        self
    }

    /// Only calls for which `predicate` holds (it sees the request; see [`Call`]).
    pub fn when(mut self, predicate: impl Fn(&Call) -> bool + Send + Sync + 'static) -> Rule {
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Only calls whose body contains `needle` (as sent, or URL-decoded for Query calls).
    pub fn body_contains(self, needle: &str) -> Rule {
        let needle = needle.to_string();
        self.when(move |c| c.body_contains(&needle))
    }

    /// Fire on every matching call (the default).
    pub fn always(mut self) -> Rule {
        self.schedule = Schedule::Always;
        self
    }

    /// Fire on the first `n` matching calls only.
    pub fn first(mut self, n: u64) -> Rule {
        self.schedule = Schedule::First(n);
        self
    }

    /// Fire on matching calls `n`, `2n`, `3n` … (`every(1)` is always).
    pub fn every(mut self, n: u64) -> Rule {
        assert!(n > 0, "every(0) makes no sense");
        self.schedule = Schedule::Every(n);
        self
    }

    /// Fire on each matching call with probability `p` (0.0–1.0), decided by
    /// a generator seeded with `seed` (reproducible for the same call sequence).
    pub fn with_probability(mut self, p: f64, seed: u64) -> Rule {
        assert!((0.0..=1.0).contains(&p), "probability {p} is not within 0.0–1.0");
        self.schedule = Schedule::Probability { p, seed };
        self
    }

    /// Fire on every matching call for `d`, counted from the first call the
    /// schedule sees (so terraform's start-up does not eat into it).
    pub fn for_duration(mut self, d: Duration) -> Rule {
        self.schedule = Schedule::During(d);
        self
    }

    /// Enforce a rate: fire on each matching call beyond `rate` a second
    /// (token bucket of `burst`). `Fault::throttling().on_service(ROUTE53).over_rate(5.0, 5)`
    /// is Route 53's documented limit of 5 requests a second.
    pub fn over_rate(mut self, rate: f64, burst: u32) -> Rule {
        assert!(rate > 0.0 && burst > 0, "a rate limit needs a positive rate and burst");
        self.schedule = Schedule::Rate { rate, burst };
        self
    }

    /// Let the first `n` matching calls through untouched; the schedule counts from the one after.
    pub fn after(mut self, n: u64) -> Rule {
        self.skip = n;
        self
    }

    fn matches(&self, call: &Call) -> bool {
        let scoped = match &self.scope {
            Scope::Any => true,
            Scope::Service(s) => call.service == *s,
            Scope::Operation(op) => call.operation == *op,
        };
        scoped && self.service.as_ref().is_none_or(|s| call.service == *s) && self.predicates.iter().all(|p| p(call))
    }
}

/// A rule in force: its counter, generator, clock and bucket.
struct Active {
    rule: Rule,
    matched: u64,
    rng: SplitMix64,
    /// When the schedule saw its first call ([`Schedule::During`]).
    first: Option<Instant>,
    /// Tokens, and when they were counted ([`Schedule::Rate`]).
    bucket: (f64, Option<Instant>),
}

impl Active {
    fn new(rule: Rule) -> Active {
        let seed = match rule.schedule {
            Schedule::Probability { seed, .. } => seed,
            _ => 0,
        };
        let tokens = match rule.schedule {
            Schedule::Rate { burst, .. } => f64::from(burst),
            _ => 0.0,
        };
        Active { rule, matched: 0, rng: SplitMix64(seed), first: None, bucket: (tokens, None) }
    }

    /// Counts the call if it matches; whether the rule fires on it.
    fn fires(&mut self, call: &Call) -> bool {
        if !self.rule.matches(call) {
            return false;
        }
        self.matched += 1;
        if self.matched <= self.rule.skip {
            return false;
        }
        let n = self.matched - self.rule.skip;
        match self.rule.schedule {
            Schedule::Always => true,
            Schedule::First(k) => n <= k,
            Schedule::Every(k) => n % k == 0,
            Schedule::Probability { p, .. } => self.rng.next_f64() < p,
            Schedule::During(d) => {
                let first = *self.first.get_or_insert_with(Instant::now);
                first.elapsed() <= d
            }
            Schedule::Rate { rate, burst } => {
                let now = Instant::now();
                let (tokens, at) = self.bucket;
                let refilled = at.map_or(0.0, |at| now.duration_since(at).as_secs_f64() * rate);
                let tokens = (tokens + refilled).min(f64::from(burst));
                if tokens >= 1.0 {
                    self.bucket = (tokens - 1.0, Some(now));
                    false
                } else {
                    self.bucket = (tokens, Some(now));
                    true
                }
            }
        }
    }
}

/// SplitMix64: tiny, good enough, and the same everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------

#[derive(Default)]
struct State {
    next_seq: u64,
    calls: Vec<Call>,
    rules: Vec<Active>,
    in_flight: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled whenever a call is recorded.
    answered: Condvar,
    started: Instant,
    upstream: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not make every later call panic too.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Numbers the call, picks its fault and counts it in flight.
    fn admit(self: &Arc<Self>, call: &mut Call) -> (Option<Fault>, InFlight) {
        let mut st = self.lock();
        call.seq = st.next_seq;
        st.next_seq += 1;
        st.in_flight += 1;
        let fault = st.rules.iter_mut().find_map(|r| r.fires(call).then(|| r.rule.fault.clone()));
        (fault, InFlight(self.clone()))
    }

    fn record(&self, call: Call) {
        let mut st = self.lock();
        st.calls.push(call);
        drop(st);
        self.answered.notify_all();
    }
}

/// Counts a call in flight until it is dropped (answered, or abandoned).
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.in_flight -= 1;
        drop(st);
        self.0.answered.notify_all();
    }
}

/// The proxy: listening on `127.0.0.1:<port>` from [`Proxy::start`] until dropped.
pub struct Proxy {
    shared: Arc<Shared>,
    endpoint: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy").field("endpoint", &self.endpoint).field("upstream", &self.shared.upstream).finish_non_exhaustive()
    }
}

impl Proxy {
    /// A proxy in front of the harness's LocalStack ([`crate::test_env`]).
    pub fn start() -> Proxy {
        Proxy::start_to(&crate::test_env().endpoint)
    }

    /// A proxy in front of `upstream` (`http://host:port`).
    pub fn start_to(upstream: &str) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("proxy: non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy: local address"));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            answered: Condvar::new(),
            started: Instant::now(),
            upstream: upstream.trim_end_matches('/').to_string(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy: tokio runtime");
        let sh = shared.clone();
        let thread = thread::Builder::new()
            .name("aws-proxy".into())
            .spawn(move || {
                // Dropping the runtime at the end of this thread drops every connection still open.
                rt.block_on(serve(listener, sh, stopped));
            })
            .expect("proxy: spawn its thread");
        Proxy { shared, endpoint, stop: Some(stop), thread: Some(thread) }
    }

    /// `http://127.0.0.1:<port>`: give it to the SDK or the provider as the endpoint URL.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Where requests are forwarded.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// Adds a rule after those already in force.
    pub fn inject(&self, rule: Rule) {
        self.shared.lock().rules.push(Active::new(rule));
    }

    /// Removes every rule: from now on every call is forwarded untouched.
    pub fn clear_faults(&self) {
        self.shared.lock().rules.clear();
    }

    /// Forgets the recorded calls (rules stay in force, with their counters).
    /// A call still in flight is recorded when it is answered, so call this
    /// once the client is done (after terraform exits, or [`Proxy::wait_idle`]).
    pub fn reset(&self) {
        self.shared.lock().calls.clear();
    }

    /// Every answered call since the start (or [`Proxy::reset`]), in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        let mut calls = self.shared.lock().calls.clone();
        calls.sort_by_key(|c| c.seq);
        calls
    }

    /// The answered calls of one operation, in arrival order.
    pub fn calls_to(&self, operation: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.operation == operation).collect()
    }

    /// The answered calls a fault was injected into, in arrival order.
    pub fn faults(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::injected).collect()
    }

    /// How many answered calls of `operation` (in any service), retries included.
    pub fn count(&self, operation: &str) -> usize {
        self.count_where(|c| c.operation == operation)
    }

    /// How many answered calls satisfy `f`.
    pub fn count_where(&self, f: impl Fn(&Call) -> bool) -> usize {
        self.shared.lock().calls.iter().filter(|c| f(c)).count()
    }

    /// Answered calls by operation name, every service together.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        tally(self.shared.lock().calls.iter())
    }

    /// Answered calls to one service, by operation name.
    pub fn counts_for(&self, service: &str) -> BTreeMap<String, usize> {
        tally(self.shared.lock().calls.iter().filter(|c| c.service == service))
    }

    /// Requests received but not yet answered.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight
    }

    /// Waits until no request is in flight; false if that took longer than `timeout`.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let st = self.shared.lock();
        let (st, _) = self.shared.answered.wait_timeout_while(st, timeout, |s| s.in_flight > 0).unwrap_or_else(|e| e.into_inner());
        st.in_flight == 0
    }

    /// Waits until `n` calls of `operation` have been answered; false on timeout.
    pub fn wait_for(&self, operation: &str, n: usize, timeout: Duration) -> bool {
        let st = self.shared.lock();
        let (st, _) = self
            .shared
            .answered
            .wait_timeout_while(st, timeout, |s| s.calls.iter().filter(|c| c.operation == operation).count() < n)
            .unwrap_or_else(|e| e.into_inner());
        st.calls.iter().filter(|c| c.operation == operation).count() >= n
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tally<'a>(calls: impl Iterator<Item = &'a Call>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in calls {
        *out.entry(c.operation.clone()).or_insert(0) += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

type Upstream = Client<HttpConnector, Full<Bytes>>;
type Answer = Response<Full<Bytes>>;

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("proxy: listener into tokio");
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("aws proxy: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(Resettable { inner: stream, reset: reset.clone() });
        let (shared, client) = (shared.clone(), client.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, shared.clone(), client.clone(), reset.clone()));
            // Errors here are the client going away, or an injected reset.
            let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, service).await;
        });
    }
}

/// A connection that closes with a TCP reset (SO_LINGER 0) instead of a FIN
/// once `reset` is set.
struct Resettable {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Resettable {
    fn resetting(&self) -> bool {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            true
        } else {
            false
        }
    }
}

impl Drop for Resettable {
    fn drop(&mut self) {
        self.resetting();
    }
}

impl AsyncRead for Resettable {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Resettable {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.resetting() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // No FIN before the reset: the client must see ECONNRESET, not an orderly end.
        if this.resetting() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.resetting() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// One request: read it, classify it, pick a fault, and answer, in a task
/// of its own so that a request is carried through even if the client gives
/// up (a delayed request still lands, as it would at AWS).
async fn handle(req: Request<Incoming>, shared: Arc<Shared>, client: Upstream, reset: Arc<AtomicBool>) -> Result<Answer, io::Error> {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    let mut call = describe(&parts, &body, arrived.duration_since(shared.started));
    let (fault, in_flight) = shared.admit(&mut call);
    let task = tokio::spawn(async move {
        let _in_flight = in_flight;
        let (answer, call) = respond(&shared, &client, parts, body, call, fault, arrived).await;
        shared.record(call);
        answer
    });
    match task.await.map_err(io::Error::other)? {
        Some(answer) => Ok(answer),
        None => {
            reset.store(true, Ordering::SeqCst);
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected connection reset"))
        }
    }
}

/// The answer (`None`: reset the connection) and the finished call.
async fn respond(
    shared: &Shared,
    client: &Upstream,
    parts: hyper::http::request::Parts,
    body: Bytes,
    mut call: Call,
    fault: Option<Fault>,
    arrived: Instant,
) -> (Option<Answer>, Call) {
    call.fault = fault.clone();
    let (before, after) = match fault {
        Some(Fault::AfterForward(inner)) => (None, Some(*inner)),
        Some(Fault::Pending) => (None, Some(Fault::Pending)),
        other => (other, None),
    };
    let answer = match before {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(f) => Some(fault_answer(&f, &mut call)),
        None => None,
    };
    let answer = match answer {
        Some(a) => a,
        None => {
            let real = forward(&shared.upstream, client, parts, body, &mut call).await;
            match after {
                None => real,
                Some(Fault::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    real
                }
                Some(Fault::Pending) => real.map(still_pending),
                Some(f) => fault_answer(&f, &mut call),
            }
        }
    };
    call.duration = arrived.elapsed();
    if let Some(a) = &answer {
        call.status = Some(a.status().as_u16());
    }
    (answer, call)
}

/// Sends the request on to LocalStack and returns its answer (502 if it is unreachable).
async fn forward(upstream: &str, client: &Upstream, parts: hyper::http::request::Parts, body: Bytes, call: &mut Call) -> Option<Answer> {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let uri: hyper::Uri = match format!("{upstream}{path}").parse() {
        Ok(u) => u,
        Err(e) => return Some(plain(502, &format!("aws proxy: bad upstream URL {upstream}{path}: {e}"))),
    };
    let mut req = Request::builder().method(parts.method).uri(uri).version(hyper::Version::HTTP_11);
    if let Some(h) = req.headers_mut() {
        *h = parts.headers;
        strip_hop_by_hop(h);
    }
    let req = req.body(Full::new(body)).expect("a request from the parts of one");
    call.forwarded = true;
    let resp = match client.request(req).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aws proxy: forwarding {} to {upstream} failed: {e}", call.key());
            return Some(plain(502, &format!("aws proxy: {upstream} did not answer: {e}")));
        }
    };
    let (mut head, body) = resp.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Some(plain(502, &format!("aws proxy: reading the answer from {upstream}: {e}"))),
    };
    call.upstream_status = Some(head.status.as_u16());
    if !head.status.is_success() {
        call.error_code = error_code(&body);
    }
    strip_hop_by_hop(&mut head.headers);
    head.headers.remove(hyper::header::CONTENT_LENGTH);
    Some(Response::from_parts(head, Full::new(body)))
}

/// LocalStack's answer with a Route 53 change reported PENDING instead of INSYNC.
fn still_pending(answer: Answer) -> Answer {
    let (head, body) = answer.into_parts();
    let bytes = body.into_inner().unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).replace("<Status>INSYNC</Status>", "<Status>PENDING</Status>");
    Response::from_parts(head, Full::new(Bytes::from(text)))
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"] {
        h.remove(name);
    }
}

fn plain(status: u16, text: &str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// The answer for an injected fault (`None`: reset). Sets the error code on the call.
fn fault_answer(fault: &Fault, call: &mut Call) -> Option<Answer> {
    let request_id = request_id(call.seq);
    let (status, body) = match fault {
        Fault::ConnectionReset => return None,
        // A delay is handled by the caller; nested faults are flattened by Fault::forward_then.
        Fault::Delay(_) | Fault::AfterForward(_) | Fault::Pending => return Some(plain(500, "aws proxy: unsupported fault nesting")),
        Fault::Http(status) => (*status, String::new()),
        Fault::Error { status, code, message } if call.service == CLOUDWATCH => {
            return Some(cbor_error(&request_id, *status, code, message, call));
        }
        Fault::Error { status, code, message } => (*status, error_body(&call.service, *status, code, message, &request_id)),
        Fault::InvalidChangeBatch { messages } => {
            (400, error_body(ROUTE53, 400, "InvalidChangeBatch", &format!("[{}]", messages.join(", ")), &request_id))
        }
        Fault::InvalidChangeBatchDocumented { messages } => {
            let messages: String = messages.iter().map(|m| format!("<Message>{}</Message>", xml_escape(m))).collect();
            (
                400,
                format!(
                    "<?xml version=\"1.0\"?>\n<InvalidChangeBatch xmlns=\"{ROUTE53_XMLNS}\"><Messages>{messages}</Messages><RequestId>{request_id}</RequestId></InvalidChangeBatch>"
                ),
            )
        }
    };
    call.error_code = fault.code().map(str::to_string);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    if !matches!(fault, Fault::Http(_)) {
        h.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    Some(r)
}

/// A Smithy RPC v2 CBOR error (CloudWatch): a CBOR map `{"__type": code, "message": …}`, with the query-compatible
/// `x-amzn-query-error` header CloudWatch also sends.
fn cbor_error(request_id: &str, status: u16, code: &str, message: &str, call: &mut Call) -> Answer {
    call.error_code = Some(code.to_string());
    let mut r = Response::new(Full::new(Bytes::from(cbor_error_body(code, message))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
    h.insert(HeaderName::from_static("smithy-protocol"), HeaderValue::from_static("rpc-v2-cbor"));
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    if let Ok(v) = HeaderValue::from_str(&format!("{code};{kind}")) {
        h.insert(HeaderName::from_static("x-amzn-query-error"), v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    r
}

/// `{"__type": code, "message": message}` in CBOR (RFC 8949): a map of two text-string pairs.
fn cbor_error_body(code: &str, message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        let n = s.len();
        match n {
            0..=23 => out.push(0x60 | n as u8),
            24..=0xFF => out.extend([0x78, n as u8]),
            _ => {
                let n = u16::try_from(n).expect("a short error text");
                out.push(0x79);
                out.extend(n.to_be_bytes());
            }
        }
        out.extend(s.as_bytes());
    }
    let mut out = vec![0xA2];
    for s in ["__type", code, "message", message] {
        text(&mut out, s);
    }
    out
}

/// An AWS error body in the protocol of `service`.
fn error_body(service: &str, status: u16, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let (code, message) = (xml_escape(code), xml_escape(message));
    match service {
        EC2 => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ),
        _ => {
            let xmlns = match service {
                ROUTE53 => format!(" xmlns=\"{ROUTE53_XMLNS}\""),
                ELBV2 => " xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"".into(),
                STS => " xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"".into(),
                _ => String::new(),
            };
            format!(
                "<?xml version=\"1.0\"?>\n<ErrorResponse{xmlns}><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        }
    }
}

/// A request id shaped like AWS's (a UUID), recognisably the proxy's.
fn request_id(seq: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", seq & 0xFFFF_FFFF_FFFF)
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<Code>` of an AWS XML error body (`InvalidChangeBatch` for the documented shape that has none).
fn error_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    if let Some(start) = text.find("<Code>") {
        let rest = &text[start + "<Code>".len()..];
        let end = rest.find("</Code>")?;
        return Some(rest[..end].trim().to_string());
    }
    text.contains("<InvalidChangeBatch").then(|| "InvalidChangeBatch".to_string())
}

// ---------------------------------------------------------------------------
// Classifying and sanitising requests
// ---------------------------------------------------------------------------

/// Headers that carry credentials: never recorded.
const SECRET_HEADERS: &[&str] = &["authorization", "x-amz-security-token", "cookie", "proxy-authorization"];
/// Query-string and Query-body parameters that carry credentials or signatures.
const SECRET_PARAMS: &[&str] =
    &["X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential", "Signature", "SecurityToken", "WebIdentityToken", "SAMLAssertion"];

/// A [`Call`] for the request, without its outcome.
fn describe(parts: &hyper::http::request::Parts, body: &[u8], at: Duration) -> Call {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let method = parts.method.as_str().to_string();
    let raw_path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let text = String::from_utf8_lossy(body).into_owned();
    let (service, operation) = classify(&method, raw_path, header("authorization"), &text);
    let attempt = header("amz-sdk-request")
        .and_then(|v| v.split(';').find_map(|kv| kv.trim().strip_prefix("attempt=")).and_then(|n| n.trim().parse().ok()));
    let changes = (operation == "ChangeResourceRecordSets").then(|| text.matches("<Change>").count() + text.matches("<Change ").count());
    let headers = parts
        .headers
        .iter()
        .filter(|(k, _)| !SECRET_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Call {
        seq: 0,
        at,
        service,
        operation,
        method,
        path: redact_query(raw_path),
        headers,
        body: redact_form(&text),
        attempt,
        invocation_id: header("amz-sdk-invocation-id").map(str::to_string),
        changes,
        fault: None,
        forwarded: false,
        upstream_status: None,
        status: None,
        error_code: None,
        duration: Duration::ZERO,
    }
}

/// `(service, operation)` of a request. The service is the signing name of
/// the SigV4 credential scope (`Credential=AKID/20250101/us-east-1/route53/aws4_request`),
/// else guessed from the path or the Query `Version`.
pub fn classify(method: &str, path_and_query: &str, authorization: Option<&str>, body: &str) -> (String, String) {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let param = |name: &str| form_params(body).chain(form_params(query)).find(|(k, _)| k == name).map(|(_, v)| v);
    let service = authorization
        .and_then(scope_service)
        .or_else(|| path.starts_with("/2013-04-01/").then(|| ROUTE53.to_string()))
        .or_else(|| {
            param("Version").and_then(|v| match v.as_str() {
                "2015-12-01" => Some(ELBV2.to_string()),
                "2016-11-15" => Some(EC2.to_string()),
                "2011-06-15" => Some(STS.to_string()),
                _ => None,
            })
        })
        .unwrap_or_else(|| UNKNOWN.to_ascii_lowercase());
    let operation = if service == ROUTE53 {
        route53_operation(method, path).map(str::to_string)
    } else if let Some(op) = rpc_v2_operation(path) {
        Some(op.to_string())
    } else {
        param("Action")
    };
    (service, operation.filter(|o| !o.is_empty()).unwrap_or_else(|| UNKNOWN.to_string()))
}

/// The operation of a Smithy RPC v2 request (`/service/<Service>/operation/<Op>`; CloudWatch today).
fn rpc_v2_operation(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/service/")?;
    let (_, op) = rest.split_once("/operation/")?;
    (!op.is_empty() && !op.contains('/')).then_some(op)
}

/// The service of a SigV4 `Authorization` header's credential scope.
fn scope_service(authorization: &str) -> Option<String> {
    let credential = authorization.split([' ', ',']).find_map(|p| p.trim().strip_prefix("Credential="))?;
    // AKID/date/region/service/aws4_request
    let parts: Vec<&str> = credential.split('/').collect();
    (parts.len() >= 5).then(|| parts[parts.len() - 2].to_string())
}

/// Route 53's REST operations, from method and path.
fn route53_operation(method: &str, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/2013-04-01/")?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let op = match (method, segs.as_slice()) {
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("POST", ["hostedzone", _]) => "UpdateHostedZoneComment",
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("POST", ["hostedzone", _, "associatevpc"]) => "AssociateVPCWithHostedZone",
        ("POST", ["hostedzone", _, "disassociatevpc"]) => "DisassociateVPCFromHostedZone",
        ("GET", ["hostedzone", _, "dnssec"]) => "GetDNSSEC",
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzonesbyvpc"]) => "ListHostedZonesByVPC",
        ("GET", ["hostedzonecount"]) => "GetHostedZoneCount",
        ("GET", ["hostedzonelimit", _, _]) => "GetHostedZoneLimit",
        ("GET", ["change", _]) => "GetChange",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        ("POST", ["tags", _]) => "ListTagsForResources",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("POST", ["healthcheck"]) => "CreateHealthCheck",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck",
        ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
        ("GET", ["healthcheckcount"]) => "GetHealthCheckCount",
        ("GET", ["accountlimit", _]) => "GetAccountLimit",
        ("GET", ["delegationset"]) => "ListReusableDelegationSets",
        ("POST", ["delegationset"]) => "CreateReusableDelegationSet",
        ("GET", ["delegationset", _]) => "GetReusableDelegationSet",
        ("DELETE", ["delegationset", _]) => "DeleteReusableDelegationSet",
        ("GET", ["checkeripranges"]) => "GetCheckerIpRanges",
        ("GET", ["geolocation"]) => "GetGeoLocation",
        ("GET", ["geolocations"]) => "ListGeoLocations",
        _ => return None,
    };
    Some(op)
}

/// `k=v&k=v` pairs, URL-decoded.
fn form_params(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    s.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path with secret query parameters replaced by `REDACTED`.
fn redact_query(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_pairs(query)),
        None => path_and_query.to_string(),
    }
}

/// A Query (form) body with secret parameters replaced; other bodies unchanged.
fn redact_form(body: &str) -> String {
    if body.starts_with('<') || !body.contains('=') {
        return body.to_string();
    }
    redact_pairs(body)
}

fn redact_pairs(s: &str) -> String {
    s.split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.iter().any(|p| percent_decode(k).eq_ignore_ascii_case(p)) => format!("{k}=REDACTED"),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const R53_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd";
    const ELB_AUTH: &str =
        "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=ff";

    fn op(method: &str, path: &str) -> (String, String) {
        classify(method, path, Some(R53_AUTH), "")
    }

    #[test]
    fn cloudwatch_operations_from_rpc_v2_paths() {
        let auth = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=ff";
        for op in ["DescribeAlarms", "GetMetricData", "PutMetricData"] {
            let path = format!("/service/GraniteServiceVersion20100801/operation/{op}");
            assert_eq!(classify("POST", &path, Some(auth), "\u{fffd}binary cbor"), (CLOUDWATCH.to_string(), op.to_string()));
        }
        assert_eq!(classify("POST", "/service/X/operation/", Some(auth), "").1, UNKNOWN);
    }

    #[test]
    fn route53_operations_from_rest_paths() {
        let cases = [
            ("GET", "/2013-04-01/hostedzone/Z123/rrset?name=app.example.com.&type=A&maxitems=300", "ListResourceRecordSets"),
            ("GET", "/2013-04-01/hostedzone/Z123/rrset/", "ListResourceRecordSets"),
            ("POST", "/2013-04-01/hostedzone/Z123/rrset", "ChangeResourceRecordSets"),
            ("POST", "/2013-04-01/hostedzone/Z123/rrset/", "ChangeResourceRecordSets"),
            ("GET", "/2013-04-01/change/C2682N5HXP0BZ4", "GetChange"),
            ("GET", "/2013-04-01/hostedzone/Z123", "GetHostedZone"),
            ("GET", "/2013-04-01/hostedzonesbyname?dnsname=example.com&maxitems=1", "ListHostedZonesByName"),
            ("GET", "/2013-04-01/hostedzone", "ListHostedZones"),
            ("GET", "/2013-04-01/hostedzone?maxitems=100", "ListHostedZones"),
            ("POST", "/2013-04-01/hostedzone", "CreateHostedZone"),
            ("DELETE", "/2013-04-01/hostedzone/Z123", "DeleteHostedZone"),
            ("GET", "/2013-04-01/tags/hostedzone/Z123", "ListTagsForResource"),
            ("GET", "/2013-04-01/healthcheck/abc/status", "GetHealthCheckStatus"),
            ("PUT", "/2013-04-01/hostedzone/Z123", UNKNOWN),
            ("GET", "/2013-04-01/nonsense/a/b/c", UNKNOWN),
        ];
        for (method, path, want) in cases {
            assert_eq!(op(method, path), (ROUTE53.to_string(), want.to_string()), "{method} {path}");
        }
    }

    #[test]
    fn query_operations_from_the_action() {
        let body =
            "Action=DescribeRules&Version=2015-12-01&ListenerArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A0%3Alistener%2Fapp%2Fx";
        assert_eq!(classify("POST", "/", Some(ELB_AUTH), body), (ELBV2.into(), "DescribeRules".into()));
        // Without a signature: guessed from the API version; GET with a query string.
        assert_eq!(classify("POST", "/", None, "Action=GetCallerIdentity&Version=2011-06-15"), (STS.into(), "GetCallerIdentity".into()));
        assert_eq!(classify("GET", "/?Action=DescribeVpcs&Version=2016-11-15", None, ""), (EC2.into(), "DescribeVpcs".into()));
        assert_eq!(classify("GET", "/2013-04-01/change/C1", None, ""), (ROUTE53.into(), "GetChange".into()));
        assert_eq!(classify("POST", "/", None, "hello"), ("unknown".into(), UNKNOWN.into()));
    }

    #[test]
    fn the_service_is_the_credential_scope() {
        assert_eq!(scope_service(R53_AUTH).as_deref(), Some("route53"));
        assert_eq!(scope_service(ELB_AUTH).as_deref(), Some("elasticloadbalancing"));
        assert_eq!(scope_service("Bearer x"), None);
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact_query("/?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&Action=X"),
            "/?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&Action=X"
        );
        assert_eq!(
            redact_form("Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJ.secret&Version=2011-06-15"),
            "Action=AssumeRoleWithWebIdentity&WebIdentityToken=REDACTED&Version=2011-06-15"
        );
        assert_eq!(redact_form("<x a=\"1\">&amp;</x>"), "<x a=\"1\">&amp;</x>");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("arn%3Aaws%3Ax+y%2F"), "arn:aws:x y/");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn error_bodies_have_each_protocols_shape() {
        let r53 = error_body(ROUTE53, 400, "Throttling", "Rate exceeded", "rid");
        assert!(r53.contains(
            "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
        ), "{r53}");
        let elb = error_body(ELBV2, 500, "InternalFailure", "a<b", "rid");
        assert!(elb.contains("<Type>Receiver</Type><Code>InternalFailure</Code><Message>a&lt;b</Message>"), "{elb}");
        let ec2 = error_body(EC2, 503, "RequestLimitExceeded", "Request limit exceeded.", "rid");
        assert!(ec2.contains("<Response><Errors><Error><Code>RequestLimitExceeded</Code>"), "{ec2}");
        assert!(ec2.contains("<RequestID>rid</RequestID>"), "{ec2}");
        assert_eq!(error_code(r53.as_bytes()).as_deref(), Some("Throttling"));
        assert_eq!(error_code(ec2.as_bytes()).as_deref(), Some("RequestLimitExceeded"));
        assert_eq!(error_code(b"<InvalidChangeBatch><Messages/></InvalidChangeBatch>").as_deref(), Some("InvalidChangeBatch"));
        assert_eq!(error_code(b""), None);
    }

    #[test]
    fn cloudwatch_errors_are_cbor_maps() {
        let b = cbor_error_body("Throttling", "Rate exceeded");
        let mut want = vec![0xA2, 0x66];
        want.extend(b"__type");
        want.push(0x6A);
        want.extend(b"Throttling");
        want.push(0x67);
        want.extend(b"message");
        want.push(0x6D);
        want.extend(b"Rate exceeded");
        assert_eq!(b, want);
        let long = "x".repeat(300);
        let b = cbor_error_body("C", &long);
        assert_eq!(&b[b.len() - 303..b.len() - 300], &[0x79, 0x01, 0x2C]);
    }

    fn call(op: &str, body: &str) -> Call {
        let parts = Request::post("/").body(()).expect("request").into_parts().0;
        let mut c = describe(&parts, body.as_bytes(), Duration::ZERO);
        c.service = ROUTE53.into();
        c.operation = op.into();
        c
    }

    fn fired(rule: Rule, calls: &[Call]) -> Vec<bool> {
        let mut a = Active::new(rule);
        calls.iter().map(|c| a.fires(c)).collect()
    }

    #[test]
    fn schedules() {
        let w = call("ChangeResourceRecordSets", "<Change>green</Change>");
        let r = call("ListResourceRecordSets", "");
        let seq = [w.clone(), r.clone(), w.clone(), w.clone(), w.clone(), w.clone(), w.clone()];
        let f = || Fault::throttling().on("ChangeResourceRecordSets");
        assert_eq!(fired(f().first(2), &seq), [true, false, true, false, false, false, false]);
        assert_eq!(fired(f().every(2), &seq), [false, false, true, false, true, false, true]);
        assert_eq!(fired(f().after(1).first(2), &seq), [false, false, true, true, false, false, false]);
        assert_eq!(fired(f(), &seq), [true, false, true, true, true, true, true]);
        assert_eq!(fired(f().body_contains("blue"), &seq), [false; 7]);
        assert_eq!(fired(Fault::throttling().on_service(ROUTE53).first(3), &seq), [true, true, true, false, false, false, false]);
        assert_eq!(fired(Fault::throttling().on_service(ELBV2), &seq), [false; 7]);
        let many = vec![w; 2000];
        let a = fired(f().with_probability(0.3, 42), &many);
        assert_eq!(a, fired(f().with_probability(0.3, 42), &many), "the same seed decides the same");
        assert_ne!(a, fired(f().with_probability(0.3, 43), &many), "another seed decides otherwise");
        let rate = a.iter().filter(|x| **x).count() as f64 / a.len() as f64;
        assert!((0.25..0.35).contains(&rate), "rate {rate}");
        assert_eq!(fired(f().with_probability(0.0, 1), &many), vec![false; 2000]);
        assert_eq!(fired(f().with_probability(1.0, 1), &many), vec![true; 2000]);
    }

    #[test]
    fn changes_in_a_batch_are_counted() {
        let parts = Request::post("/2013-04-01/hostedzone/Z1/rrset").body(()).expect("request").into_parts().0;
        let body = "<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>UPSERT</Action></Change><Change><Action>DELETE</Action></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>";
        let c = describe(&parts, body.as_bytes(), Duration::ZERO);
        assert_eq!((c.operation.as_str(), c.changes), ("ChangeResourceRecordSets", Some(2)));
    }
}
