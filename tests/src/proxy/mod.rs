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

mod call;
mod classify;
mod rules;
mod serve;
#[cfg(test)]
mod tests;
mod wire;

pub use call::Call;
pub use classify::classify;
pub use rules::{Fault, Rule, Schedule};

use classify::*;
use rules::*;
use serve::*;
use wire::*;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

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

/// A directory: when set, every AWS call the provider makes in an acceptance
/// test is appended to a file there as `service operation` (tools/testacc.sh
/// sets it, and checks the calls against the IAM guide's policy at the end).
pub const CALL_LOG_ENV: &str = "BLUEGREEN_CALL_LOG";

#[derive(Default)]
struct State {
    next_seq: u64,
    calls: Vec<Call>,
    rules: Vec<Active>,
    in_flight: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Where each call the provider made is appended as `service operation`
    /// ([`CALL_LOG_ENV`]), for the check of the IAM policy over every suite.
    call_log: Mutex<Option<std::fs::File>>,
    /// Keep calls in memory for [`Proxy::calls`] (not in the process-wide recorder).
    keep_calls: bool,
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
        if let Some(file) = self.call_log.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            use std::io::Write;
            // One short line per write, appended: lines from several processes do not interleave.
            let _ = file.write_all(format!("{} {}\n", call.service, call.operation).as_bytes());
        }
        let mut st = self.lock();
        if !self.keep_calls {
            drop(st);
            self.answered.notify_all();
            return;
        }
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
        Proxy::start_with(upstream, true)
    }

    /// The process-wide recorder the provider's calls go through when
    /// [`CALL_LOG_ENV`] is set and a [`Workdir`](crate::Workdir) has no proxy
    /// of its own: every call is logged, none kept in memory, none faulted.
    pub(crate) fn recorder() -> Option<&'static Proxy> {
        static RECORDER: std::sync::OnceLock<Option<Proxy>> = std::sync::OnceLock::new();
        RECORDER
            .get_or_init(|| {
                std::env::var_os(CALL_LOG_ENV)?;
                let p = Proxy::start_with(&crate::test_env().endpoint, false);
                p.log_calls();
                Some(p)
            })
            .as_ref()
    }

    /// Appends every call from now on to this process's file in the
    /// [`CALL_LOG_ENV`] directory, when that is set (the provider's calls:
    /// [`Workdir::with_proxy`](crate::Workdir::with_proxy) asks for it).
    pub(crate) fn log_calls(&self) {
        let Some(dir) = std::env::var_os(CALL_LOG_ENV) else { return };
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("calls-{}.log", std::process::id()));
        match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => *self.shared.call_log.lock().unwrap_or_else(|e| e.into_inner()) = Some(f),
            Err(e) => panic!("proxy: cannot open the call log {}: {e}", path.display()),
        }
    }

    /// The endpoint, borrowed.
    pub(crate) fn endpoint_str(&self) -> &str {
        &self.endpoint
    }

    fn start_with(upstream: &str, keep_calls: bool) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("proxy: non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy: local address"));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            call_log: Mutex::new(None),
            keep_calls,
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
