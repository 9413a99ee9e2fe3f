//! Faults, and the rules and schedules that decide which calls get them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

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
pub(super) enum Scope {
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

pub(super) type Predicate = Arc<dyn Fn(&Call) -> bool + Send + Sync>;

/// A fault, the calls it applies to, and when. Made from a [`Fault`]:
/// `Fault::throttling().on("ChangeResourceRecordSets").first(2)`.
#[derive(Clone)]
pub struct Rule {
    pub(super) fault: Fault,
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
pub(super) struct Active {
    pub(super) rule: Rule,
    matched: u64,
    rng: SplitMix64,
    /// When the schedule saw its first call ([`Schedule::During`]).
    first: Option<Instant>,
    /// Tokens, and when they were counted ([`Schedule::Rate`]).
    bucket: (f64, Option<Instant>),
}

impl Active {
    pub(super) fn new(rule: Rule) -> Active {
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
    pub(super) fn fires(&mut self, call: &Call) -> bool {
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
pub(super) struct SplitMix64(u64);

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
