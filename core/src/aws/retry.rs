//! Pacing and retrying every AWS call, one [`Pacer`] per service per
//! provider process, shared by every resource and data source in it.
//!
//! AWS throttles per account, and the account is shared with every other
//! tool in it (external-dns, pipelines, the console): Route 53 allows about
//! five requests a second for all of them together. A cutover must not fail
//! at 2 a.m. because another job used that budget for a few seconds, so:
//!
//! - **Pacing.** Each call first takes a token from the service's bucket
//!   ([`Limiter`]): a steady rate with a small burst. A throttled answer
//!   lowers the rate by a fifth (down to [`Limiter::floor`]); each success
//!   wins back a tenth of the configured rate. Two hundred switches applying at once
//!   queue here instead of at AWS.
//! - **Retrying by time, not by count.** Throttling and
//!   PriorRequestNotComplete mean "not now, nothing was done": they are
//!   retried with capped exponential backoff and full jitter until
//!   [`RetryPolicy::budget`] is spent (default 5 minutes, long enough to
//!   ride out minutes of sustained throttling). A 5xx, a timeout or a dropped
//!   connection may have taken effect: retried [`RetryPolicy::ambiguous`]
//!   times, as the SDK's standard mode did, and then handed to the caller,
//!   which reads back before writing again. `max_retries`, when set, caps the
//!   number of retries of either kind. Any other 4xx is never retried.
//! - **Telling the user.** Each wait of [`LOG_WAIT_OVER`] or more, and every
//!   wait once an operation has waited that long in total, is logged at INFO
//!   with the service, the operation and the time waited so far.
//! - **Stopping.** Terraform's StopProvider (Ctrl-C) cuts a retry wait short:
//!   the call fails at once with [`AwsErrorKind::Stopped`] (or with its last
//!   ambiguous error, which the caller reads back), so nothing is left half
//!   done and the state stays what AWS holds. Calls made after the stop (a
//!   read-back) still get their first attempt, never a retry wait. The way
//!   back from a failed health gate must finish even after a Ctrl-C: code
//!   run inside [`unstoppable`] keeps retrying as if no stop had come.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{AwsError, AwsErrorKind};

tokio::task_local! {
    static UNSTOPPABLE: ();
}

/// Runs `fut` with StopProvider ignored by the pacers' retry waits (in this
/// task): a gate's rollback is written even after a Ctrl-C.
pub async fn unstoppable<F: Future>(fut: F) -> F::Output {
    UNSTOPPABLE.scope((), fut).await
}

fn stoppable() -> bool {
    UNSTOPPABLE.try_with(|_| ()).is_err()
}

/// Waits at least this long are logged at INFO.
pub const LOG_WAIT_OVER: Duration = Duration::from_secs(5);

/// How long and how often a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Throttled calls are retried until this much time has passed since
    /// the first attempt.
    pub budget: Duration,
    /// Retries of an ambiguous failure (5xx, timeout, dropped connection).
    pub ambiguous: u32,
    /// `max_retries`: when set, no call is retried more often than this.
    pub max_retries: Option<u32>,
    /// The first backoff; doubled after each retry…
    pub base: Duration,
    /// …up to this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            budget: DEFAULT_RETRY_BUDGET,
            ambiguous: 2,
            max_retries: None,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(8),
        }
    }
}

/// The default time budget for retrying throttled calls.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(300);

impl RetryPolicy {
    /// `max_retries` from the provider block: caps both kinds of retries.
    pub fn with_max_retries(mut self, n: Option<u32>) -> Self {
        self.max_retries = n;
        if let Some(n) = n {
            self.ambiguous = self.ambiguous.min(n);
        }
        self
    }

    /// The backoff before retry `n` (1, 2, …), before jitter.
    fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// A token bucket whose rate adapts to throttling: the client-side rate
/// limiter of one service.
pub struct Limiter {
    bucket: Mutex<Bucket>,
}

struct Bucket {
    /// The configured rate and burst.
    max_rate: f64,
    burst: f64,
    /// The current rate (lowered by throttling, raised by successes).
    rate: f64,
    /// Tokens available at `at`; negative when callers have reserved tokens
    /// not yet refilled (they are sleeping until then).
    tokens: f64,
    at: Instant,
}

impl Limiter {
    /// `rate` requests a second, at most `burst` at once.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { bucket: Mutex::new(Bucket { max_rate: rate, burst, rate, tokens: burst, at: Instant::now() }) }
    }

    /// The lowest rate throttling can bring the limiter to.
    pub fn floor(&self) -> f64 {
        (self.bucket.lock().expect("limiter lock").max_rate / 8.0).max(0.2)
    }

    /// The current rate, requests a second.
    pub fn rate(&self) -> f64 {
        self.bucket.lock().expect("limiter lock").rate
    }

    /// Reserves one token; returns how long the caller must wait for it.
    fn reserve(&self) -> Duration {
        let mut b = self.bucket.lock().expect("limiter lock");
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate).min(b.burst);
        b.at = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / b.rate)
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }

    /// AWS throttled a call: lower the rate by a fifth.
    pub fn throttled(&self) {
        let floor = self.floor();
        let mut b = self.bucket.lock().expect("limiter lock");
        b.rate = (b.rate * 0.8).max(floor);
        // Tokens already handed out stay handed out; no new burst.
        b.tokens = b.tokens.min(0.0);
    }

    /// A call went through: win back part of the configured rate.
    pub fn succeeded(&self) {
        let mut b = self.bucket.lock().expect("limiter lock");
        b.rate = (b.rate + b.max_rate / 10.0).min(b.max_rate);
    }
}

/// Counters of what a pacer did, for tests and the bench.
#[derive(Debug, Default)]
pub struct PacerStats {
    /// Calls made, first attempts and retries.
    pub calls: AtomicU64,
    /// Answers that were throttling errors.
    pub throttled: AtomicU64,
    /// Attempts that were retries.
    pub retries: AtomicU64,
}

/// Rate limiting and retries for one service (see the module docs).
pub struct Pacer {
    /// The service in words ("Route 53").
    service: &'static str,
    /// The endpoint calls go to, for messages.
    endpoint: String,
    limiter: Limiter,
    policy: RetryPolicy,
    stop: CancellationToken,
    jitter: AtomicU64,
    /// What this pacer did so far.
    pub stats: PacerStats,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").field("service", &self.service).field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl Pacer {
    /// A pacer for `service` (in words, for messages) at `endpoint`; `stop` cuts waits short.
    pub fn new(service: &'static str, endpoint: String, limiter: Limiter, policy: RetryPolicy, stop: CancellationToken) -> Self {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        Self { service, endpoint, limiter, policy, stop, jitter: AtomicU64::new(seed), stats: PacerStats::default() }
    }

    /// The service in words, e.g. "Route 53".
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The endpoint calls go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The rate limiter calls wait on.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Uniform in [0, 1), SplitMix64 over an atomic counter.
    fn random(&self) -> f64 {
        let mut z = self.jitter.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry budget
    /// is spent. `operation` names the call in logs and errors.
    pub async fn call<T, F, Fut>(&self, operation: &'static str, mut attempt: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let started = Instant::now();
        let mut retries = 0u32;
        let mut ambiguous = 0u32;
        let mut waited = Duration::ZERO;
        // Whether an attempt went out and its answer was lost: it may have
        // been carried out, so what a retry meets may be its effect.
        let mut lost = false;
        let stop = if stoppable() { self.stop.clone() } else { CancellationToken::new() };
        loop {
            // After a stop, calls still go out (a read-back must), but wait for nothing.
            let queued = self.limiter.reserve();
            if !queued.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(queued) => {}
                    _ = stop.cancelled() => {}
                }
            }
            waited += queued;
            if queued >= LOG_WAIT_OVER {
                tracing::info!(service = self.service, operation, "waited {} for {}'s rate limit", fmt(queued), self.service);
            }
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let err = match attempt().await {
                Ok(v) => {
                    self.limiter.succeeded();
                    return Ok(v);
                }
                Err(e) => {
                    let mut e = self.locate(e);
                    e.after_lost_answer |= lost;
                    lost |= e.kind == AwsErrorKind::Ambiguous;
                    e
                }
            };
            let throttle = matches!(err.kind, AwsErrorKind::Throttling | AwsErrorKind::PriorRequestNotComplete);
            if err.kind == AwsErrorKind::Throttling {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                self.limiter.throttled();
            }
            let retryable = match err.kind {
                _ if throttle => true,
                AwsErrorKind::Ambiguous | AwsErrorKind::Unreachable => {
                    ambiguous += 1;
                    ambiguous <= self.policy.ambiguous
                }
                _ => false,
            };
            if !retryable || self.policy.max_retries.is_some_and(|m| retries >= m) {
                return Err(err);
            }
            retries += 1;
            let backoff = self.policy.backoff(retries);
            // Full jitter over the upper half: spreads callers out, never zero.
            let delay = backoff.mul_f64(0.5 + 0.5 * self.random());
            let spent = started.elapsed();
            if throttle && spent + delay > self.policy.budget {
                return Err(exhausted(err, spent, retries - 1));
            }
            if stop.is_cancelled() {
                return Err(stopped(err, waited));
            }
            if delay >= LOG_WAIT_OVER || waited + delay >= LOG_WAIT_OVER {
                tracing::info!(
                    service = self.service,
                    operation,
                    code = err.code.as_deref().unwrap_or(""),
                    retry = retries,
                    "{} {operation}: {}; retrying in {}, waited {} so far",
                    self.service,
                    err.code.as_deref().unwrap_or(&err.message),
                    fmt(delay),
                    fmt(waited)
                );
            } else {
                tracing::debug!(service = self.service, operation, retry = retries, error = %err, "retrying in {delay:?}");
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::select! {
                _ = tokio::time::sleep(delay) => waited += delay,
                _ = stop.cancelled() => return Err(stopped(err, waited + started.elapsed().saturating_sub(spent))),
            }
        }
    }

    /// Names the service and endpoint in a failure to reach it.
    fn locate(&self, mut e: AwsError) -> AwsError {
        if e.kind == AwsErrorKind::Unreachable && !e.message.contains(&self.endpoint) {
            e.message = match e.message.strip_prefix(super::sdk_error::TLS_FAILED) {
                Some(why) => format!("TLS handshake with {} failed: {why}", self.endpoint),
                None => format!("could not reach {} at {}: {}", self.service, self.endpoint, e.message),
            };
        }
        e
    }
}

/// The budget ran out while AWS kept throttling.
fn exhausted(mut e: AwsError, spent: Duration, retries: u32) -> AwsError {
    e.message = format!("{} (still throttled after {} retries over {})", e.message.trim_end_matches('.'), retries, fmt(spent));
    e
}

/// StopProvider cut a retry wait short. An ambiguous failure stays
/// ambiguous (the caller must read back); anything else was not applied.
fn stopped(e: AwsError, waited: Duration) -> AwsError {
    if matches!(e.kind, AwsErrorKind::Ambiguous) {
        return e;
    }
    let what = e.code.clone().unwrap_or_else(|| e.message.clone());
    AwsError::new(
        e.operation,
        AwsErrorKind::Stopped,
        format!("stopped while waiting to retry after {what} (waited {}); the request was not applied", fmt(waited)),
    )
}

/// A duration as a person reads it: "850ms", "12s", "2m5s".
fn fmt(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    fn pacer(policy: RetryPolicy, stop: CancellationToken) -> Pacer {
        Pacer::new("Route 53", "http://r53.test".into(), Limiter::new(1000.0, 1000), policy, stop)
    }

    fn throttle() -> AwsError {
        AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Throttling, "Rate exceeded").with_code("Throttling")
    }

    /// A call that fails with `err` the first `n` times.
    fn failing(n: u32, err: fn() -> AwsError) -> (Arc<AtomicU32>, impl FnMut() -> futures::future::Ready<Result<u32, AwsError>>) {
        let count = Arc::new(AtomicU32::new(0));
        let c = count.clone();
        (count, move || {
            let i = c.fetch_add(1, Ordering::SeqCst);
            futures::future::ready(if i < n { Err(err()) } else { Ok(i) })
        })
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_for_minutes_not_a_count() {
        let p = pacer(RetryPolicy::default(), CancellationToken::new());
        // 20 throttles in a row: more than any count-based default, well inside the budget.
        let (count, f) = failing(20, throttle);
        let started = Instant::now();
        assert_eq!(p.call("ChangeResourceRecordSets", f).await.unwrap(), 20);
        assert_eq!(count.load(Ordering::SeqCst), 21);
        let took = started.elapsed();
        // Backoff doubles from 200 ms to an 8 s cap (12.6 s + 13 × 8 s), jittered over its upper half.
        assert!(took >= Duration::from_secs(58) && took <= Duration::from_secs(117), "{took:?}");
        assert_eq!(p.stats.throttled.load(Ordering::Relaxed), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn two_minutes_of_sustained_throttling_are_ridden_out() {
        let p = pacer(RetryPolicy::default(), CancellationToken::new());
        let until = Instant::now() + Duration::from_secs(120);
        let calls = AtomicU32::new(0);
        let r = p
            .call("ListResourceRecordSets", || {
                calls.fetch_add(1, Ordering::SeqCst);
                futures::future::ready(if Instant::now() < until { Err(throttle()) } else { Ok(()) })
            })
            .await;
        assert!(r.is_ok(), "{r:?}");
        // Done within one capped backoff of the throttling's end.
        assert!(Instant::now() <= until + Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_ends_retrying_with_a_message_that_says_so() {
        let policy = RetryPolicy { budget: Duration::from_secs(60), ..RetryPolicy::default() };
        let p = pacer(policy, CancellationToken::new());
        let started = Instant::now();
        let (_, f) = failing(u32::MAX, throttle);
        let e = p.call("ChangeResourceRecordSets", f).await.unwrap_err();
        assert_eq!(e.kind, AwsErrorKind::Throttling);
        assert!(started.elapsed() <= Duration::from_secs(60), "{:?}", started.elapsed());
        assert!(e.message.contains("still throttled after") && e.message.contains("retries over"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn max_retries_overrides_the_budget() {
        let p = pacer(RetryPolicy::default().with_max_retries(Some(3)), CancellationToken::new());
        let (count, f) = failing(u32::MAX, throttle);
        assert!(p.call("GetChange", f).await.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 4, "1 attempt + 3 retries");
        let p = pacer(RetryPolicy::default().with_max_retries(Some(0)), CancellationToken::new());
        let (count, f) = failing(u32::MAX, || AwsError::new("GetChange", AwsErrorKind::Ambiguous, "500").with_code("InternalFailure"));
        assert!(p.call("GetChange", f).await.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn other_client_errors_are_never_retried_and_5xx_a_few_times() {
        let p = pacer(RetryPolicy::default(), CancellationToken::new());
        for kind in [AwsErrorKind::Invalid, AwsErrorKind::Auth, AwsErrorKind::NotFound, AwsErrorKind::Credentials, AwsErrorKind::Other] {
            let count = AtomicU32::new(0);
            let r: Result<(), _> = p
                .call("CreateRule", || {
                    count.fetch_add(1, Ordering::SeqCst);
                    futures::future::ready(Err(AwsError::new("CreateRule", kind, "no")))
                })
                .await;
            assert!(r.is_err());
            assert_eq!(count.load(Ordering::SeqCst), 1, "{kind:?} was retried");
        }
        let (count, f) = failing(u32::MAX, || AwsError::new("CreateRule", AwsErrorKind::Ambiguous, "503").with_code("ServiceUnavailable"));
        assert_eq!(p.call("CreateRule", f).await.unwrap_err().kind, AwsErrorKind::Ambiguous);
        assert_eq!(count.load(Ordering::SeqCst), 3, "the SDK's standard 3 attempts");
        let (count, f) = failing(2, || AwsError::new("CreateRule", AwsErrorKind::Ambiguous, "503"));
        assert_eq!(p.call("CreateRule", f).await.unwrap(), 2);
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }

    /// Only an error met by a retry after a lost answer may be that attempt's
    /// own effect: the flag that lets a caller read back.
    #[tokio::test(start_paused = true)]
    async fn an_error_is_marked_after_a_lost_answer_only() {
        let p = pacer(RetryPolicy::default(), CancellationToken::new());
        let batch = |code: &'static str| AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Invalid, "exists").with_code(code);
        // A definite refusal on the first attempt.
        let r: Result<(), _> = p.call("ChangeResourceRecordSets", || futures::future::ready(Err(batch("InvalidChangeBatch")))).await;
        assert!(!r.unwrap_err().after_lost_answer);
        // A throttle (nothing done), then the refusal: still definite.
        let n = AtomicU32::new(0);
        let r: Result<(), _> = p
            .call("ChangeResourceRecordSets", || {
                let first = n.fetch_add(1, Ordering::SeqCst) == 0;
                futures::future::ready(Err(if first { throttle() } else { batch("InvalidChangeBatch") }))
            })
            .await;
        assert!(!r.unwrap_err().after_lost_answer);
        // A 5xx (may have landed), then the refusal: possibly its own effect.
        let n = AtomicU32::new(0);
        let r: Result<(), _> = p
            .call("ChangeResourceRecordSets", || {
                let first = n.fetch_add(1, Ordering::SeqCst) == 0;
                futures::future::ready(Err(if first {
                    AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Ambiguous, "503")
                } else {
                    batch("InvalidChangeBatch")
                }))
            })
            .await;
        assert!(r.unwrap_err().after_lost_answer);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_cuts_a_retry_wait_short() {
        let stop = CancellationToken::new();
        let p = Arc::new(pacer(RetryPolicy::default(), stop.clone()));
        let task = {
            let p = p.clone();
            tokio::spawn(async move {
                let (_, f) = failing(u32::MAX, throttle);
                p.call("ChangeResourceRecordSets", f).await
            })
        };
        tokio::time::sleep(Duration::from_secs(30)).await;
        let at = Instant::now();
        stop.cancel();
        let e = task.await.unwrap().unwrap_err();
        assert_eq!(Instant::now(), at, "the wait was not cut short");
        assert_eq!(e.kind, AwsErrorKind::Stopped);
        assert!(e.message.contains("was not applied"), "{e}");
        // After the stop a call gets one attempt and no retry wait.
        let (count, f) = failing(u32::MAX, throttle);
        assert_eq!(p.call("ChangeResourceRecordSets", f).await.unwrap_err().kind, AwsErrorKind::Stopped);
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(Instant::now() - at < Duration::from_millis(100), "only the rate limit's token wait");
        // An ambiguous failure stays ambiguous, so the caller reads back.
        let (_, f) = failing(u32::MAX, || AwsError::new("CreateRule", AwsErrorKind::Ambiguous, "reset"));
        assert_eq!(p.call("CreateRule", f).await.unwrap_err().kind, AwsErrorKind::Ambiguous);
        // A rollback keeps retrying through the stop.
        let (count, f) = failing(5, throttle);
        assert_eq!(unstoppable(p.call("ChangeResourceRecordSets", f)).await.unwrap(), 5);
        assert_eq!(count.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_paces_a_crowd_at_its_rate() {
        let l = Arc::new(Limiter::new(5.0, 5));
        let started = Instant::now();
        let tasks: Vec<_> = (0..55)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    l.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap().duration_since(started));
        }
        done.sort();
        // 5 at once, then 5 a second: the 55th goes at 10 s.
        assert_eq!(done[4], Duration::ZERO);
        assert!(done[5] > Duration::ZERO);
        let last = done[54].as_secs_f64();
        assert!((last - 10.0).abs() < 0.01, "{last}");
        // No second holds more than the rate (plus the first burst).
        for w in done.windows(6).skip(5) {
            assert!(w[5] - w[0] >= Duration::from_millis(999), "{:?}", w);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_lowers_the_rate_and_successes_restore_it() {
        let l = Limiter::new(8.0, 8);
        l.throttled();
        assert!((l.rate() - 6.4).abs() < 1e-9, "{}", l.rate());
        for _ in 0..20 {
            l.throttled();
        }
        assert_eq!(l.rate(), l.floor());
        assert_eq!(l.floor(), 1.0);
        // From the floor (1/s), each success adds 0.8/s.
        for _ in 0..8 {
            l.succeeded();
        }
        assert!((l.rate() - 7.4).abs() < 1e-9, "{}", l.rate());
        l.succeeded();
        assert_eq!(l.rate(), 8.0);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(6), Duration::from_millis(6_400));
        assert_eq!(p.backoff(7), Duration::from_secs(8));
        assert_eq!(p.backoff(1000), Duration::from_secs(8));
    }
}
