//! One CloudWatch reader per provider process, shared by every resource's
//! gates, so that a hundred canaries baking at once cost one DescribeAlarms
//! and one GetMetricData per check instead of two hundred calls.
//!
//! Two things make the sharing work:
//! - **A common clock.** Checks during a bake run on ticks of a grid that
//!   starts when the reader is made (`epoch + k · check_interval`), not at
//!   `bake start + k · check_interval`; every gate with the same interval
//!   wakes at the same instants.
//! - **Rounds.** A read that finds no value fetched since the latest tick
//!   opens a round (or joins the one gathering): the round waits
//!   [`GATHER`] for the others woken by the same tick, then sends every name
//!   and query asked for in as few calls as AWS allows (≤ 100 alarm names,
//!   ≤ 500 queries of one period a call). A read that finds values fetched
//!   since the latest tick uses them. A read that arrives while a round is
//!   in flight and would find everything it lacks in that round's answer
//!   waits for it instead of opening another (readers slowed by a busy
//!   machine or a paced target-health call arrive late, not all at once).
//! - **Fresh reads.** The check before the first increase reads with
//!   [`CloudWatchReader::read_fresh`]: values fetched less than [`GATHER`]
//!   ago, so traffic never goes up on an alarm state one interval old. A bake
//!   gated on CloudWatch ends on a tick (the engine asks
//!   [`CloudWatchReader::tick_at_or_after`]), so the check before the next
//!   increase is fresh too and shared by every bake ending near it.
//! - **Recurring keys.** What a gate read at one tick it will read at the
//!   next: every round also fetches the names and queries read through
//!   [`CloudWatchReader::read_every`] within the last two intervals (and a
//!   minute), so a
//!   gate that reaches the reader late (a busy machine, a slow target-health
//!   call) finds its values already fetched instead of opening a round of its own.
//! - **Alarm history.** A gate that judges the whole time at a split asks for
//!   every alarm state change since a moment; a round reads every alarm's
//!   history (one paginated DescribeAlarmHistory, newest first) back to the
//!   earliest moment any reader asked for, and later rounds read only what
//!   is new since the last ([`HISTORY_OVERLAP`] back, for items written
//!   late), so a bake of any length costs one call per tick.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

use crate::aws::cloudwatch::{AlarmState, AlarmTransition, CloudWatchApi, MetricQuery, MAX_ALARM_NAMES_PER_CALL, MAX_QUERIES_PER_CALL};
use crate::error::AwsError;

/// How long a round waits for other readers before it sends.
pub const GATHER: Duration = Duration::from_millis(500);

/// How far before the previous read of alarm history a later read goes back
/// again, for items CloudWatch writes a little after the change they record.
pub const HISTORY_OVERLAP: Duration = Duration::from_secs(300);

/// What one check wants to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchRequest {
    /// Alarm names whose state to read.
    pub alarms: Vec<String>,
    /// Metric statistics to read.
    pub queries: Vec<MetricQuery>,
    /// Read the state changes of `alarms` at or after this moment, too.
    pub history_since: Option<SystemTime>,
}

impl WatchRequest {
    /// Whether there is nothing to read.
    pub fn is_empty(&self) -> bool {
        self.alarms.is_empty() && self.queries.is_empty()
    }
}

/// What a check read: alarms by name (`None`: no such alarm), and one value
/// per query (`None`: no data point in the window).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchAnswer {
    /// Each alarm asked for by name; `None`: no such alarm.
    pub alarms: BTreeMap<String, Option<AlarmState>>,
    /// Each query's value; `None`: no data point in the window.
    pub values: HashMap<MetricQuery, Option<f64>>,
    /// The state changes of the alarms asked for, at or after the request's
    /// `history_since`, oldest first (empty when it asked for none).
    pub history: Vec<AlarmTransition>,
}

impl WatchAnswer {
    /// The value read for `q`, if any.
    pub fn value(&self, q: &MetricQuery) -> Option<f64> {
        self.values.get(q).copied().flatten()
    }
}

type Round = Shared<BoxFuture<'static, Result<(), AwsError>>>;

struct InFlight {
    id: u64,
    round: Round,
    sent: Instant,
    names: BTreeSet<String>,
    queries: BTreeSet<MetricQuery>,
    /// How far back it reads alarm history, if it does.
    history: Option<SystemTime>,
}

/// What a gathering round will ask for.
struct Gathering {
    round: Round,
    names: BTreeSet<String>,
    queries: BTreeSet<MetricQuery>,
    history: Option<SystemTime>,
}

/// The alarm history read so far: every alarm's state changes back to
/// `back_to`, as of `fetched` (wall clock `fetched_wall`).
struct History {
    items: BTreeSet<AlarmTransition>,
    back_to: SystemTime,
    fetched: Instant,
    fetched_wall: SystemTime,
}

fn earlier(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[derive(Default)]
struct Inner {
    alarms: HashMap<String, (Instant, Option<AlarmState>)>,
    values: HashMap<MetricQuery, (Instant, Option<f64>)>,
    /// The round still gathering, and what it will ask for.
    gathering: Option<Gathering>,
    /// Alarm history read so far.
    history: Option<History>,
    /// How far back recurring readers ask for history: since when, when last asked, and how often.
    recurring_history: HashMap<SystemTime, (Instant, Duration)>,
    /// Rounds sent and not yet answered: when each was sent and what it asks for.
    in_flight: Vec<InFlight>,
    /// Keys read on a grid: when last asked for, and how often.
    recurring_alarms: HashMap<String, (Instant, Duration)>,
    recurring_queries: HashMap<MetricQuery, (Instant, Duration)>,
}

/// How long keys stay in every round after they were last read: two
/// intervals, plus a minute for a gate whose first tick comes long after its
/// check before the first increase (a slow create on a busy account).
fn active(at: &(Instant, Duration), now: Instant) -> bool {
    at.0 + at.1 * 2 + RECURRING_GRACE >= now
}

const RECURRING_GRACE: Duration = Duration::from_secs(60);

/// The process-wide CloudWatch reader.
#[derive(Clone)]
pub struct CloudWatchReader {
    api: Arc<dyn CloudWatchApi>,
    epoch: Instant,
    inner: Arc<Mutex<Inner>>,
}

impl CloudWatchReader {
    /// A reader over `api`; one per process, shared by every gate.
    pub fn new(api: Arc<dyn CloudWatchApi>) -> Self {
        CloudWatchReader { api, epoch: Instant::now(), inner: Arc::default() }
    }

    /// The latest tick of the `interval` grid at or before now.
    pub fn last_tick(&self, interval: Duration) -> Instant {
        let interval = interval.max(Duration::from_millis(1));
        let since = Instant::now().saturating_duration_since(self.epoch);
        let k = since.as_nanos() / interval.as_nanos();
        self.epoch + interval * u32::try_from(k).unwrap_or(u32::MAX)
    }

    /// The next tick of the `interval` grid strictly after now.
    pub fn next_tick(&self, interval: Duration) -> Instant {
        self.last_tick(interval) + interval.max(Duration::from_millis(1))
    }

    /// The first tick of the `interval` grid at or after `t`.
    pub fn tick_at_or_after(&self, t: Instant, interval: Duration) -> Instant {
        let interval = interval.max(Duration::from_millis(1));
        let since = t.saturating_duration_since(self.epoch);
        let k = since.as_nanos().div_ceil(interval.as_nanos());
        self.epoch + interval * u32::try_from(k).unwrap_or(u32::MAX)
    }

    /// Reads `req` for a check on the `interval` grid: values fetched since
    /// the latest tick are used, and the keys join every round while they
    /// are read at least every two intervals (plus a minute of grace).
    pub async fn read_every(&self, req: &WatchRequest, interval: Duration) -> Result<WatchAnswer, AwsError> {
        self.remember(req, interval);
        self.read(req, self.last_tick(interval)).await
    }

    /// Like [`CloudWatchReader::read_every`], for a check before an increase:
    /// only values fetched less than [`GATHER`] ago (or since the latest tick,
    /// if that is later) are used.
    pub async fn read_fresh(&self, req: &WatchRequest, interval: Duration) -> Result<WatchAnswer, AwsError> {
        let now = Instant::now();
        let recent = now.checked_sub(GATHER).unwrap_or(now);
        self.remember(req, interval);
        self.read(req, recent.max(self.last_tick(interval))).await
    }

    fn remember(&self, req: &WatchRequest, interval: Duration) {
        let now = Instant::now();
        let mut inner = self.inner.lock().expect("lock");
        for n in &req.alarms {
            inner.recurring_alarms.insert(n.clone(), (now, interval));
        }
        for q in &req.queries {
            inner.recurring_queries.insert(q.clone(), (now, interval));
        }
        if let Some(since) = req.history_since {
            inner.recurring_history.insert(since, (now, interval));
        }
    }

    /// Reads `req`, using values fetched at or after `fresh_since`, fetching
    /// the rest in a shared round.
    pub async fn read(&self, req: &WatchRequest, fresh_since: Instant) -> Result<WatchAnswer, AwsError> {
        // A few rounds at most: one in flight may lack some keys, and one may
        // have been sent before our keys joined it.
        for _ in 0..4 {
            let round = {
                let mut inner = self.inner.lock().expect("lock");
                let missing_alarms: Vec<&String> =
                    req.alarms.iter().filter(|n| inner.alarms.get(*n).is_none_or(|(t, _)| *t < fresh_since)).collect();
                let missing_queries: Vec<&MetricQuery> =
                    req.queries.iter().filter(|q| inner.values.get(*q).is_none_or(|(t, _)| *t < fresh_since)).collect();
                let missing_history =
                    req.history_since.filter(|since| inner.history.as_ref().is_none_or(|h| h.fetched < fresh_since || h.back_to > *since));
                if missing_alarms.is_empty() && missing_queries.is_empty() && missing_history.is_none() {
                    return Ok(answer(&inner, req));
                }
                let covering = inner.in_flight.iter().find(|f| {
                    f.sent >= fresh_since
                        && missing_alarms.iter().all(|n| f.names.contains(*n))
                        && missing_queries.iter().all(|q| f.queries.contains(*q))
                        && missing_history.is_none_or(|since| f.history.is_some_and(|h| h <= since))
                });
                if let Some(f) = covering {
                    f.round.clone()
                } else {
                    match &mut inner.gathering {
                        Some(g) => {
                            g.names.extend(missing_alarms.into_iter().cloned());
                            g.queries.extend(missing_queries.into_iter().cloned());
                            g.history = earlier(g.history, missing_history);
                            g.round.clone()
                        }
                        None => {
                            let round = self.round();
                            inner.gathering = Some(Gathering {
                                round: round.clone(),
                                names: missing_alarms.into_iter().cloned().collect(),
                                queries: missing_queries.into_iter().cloned().collect(),
                                history: missing_history,
                            });
                            round
                        }
                    }
                }
            };
            round.await?;
        }
        let inner = self.inner.lock().expect("lock");
        Ok(answer(&inner, req))
    }

    fn round(&self) -> Round {
        let api = self.api.clone();
        let inner = self.inner.clone();
        static ROUNDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = ROUNDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            tokio::time::sleep(GATHER).await;
            let sent = Instant::now();
            let (names, queries, history) = {
                let mut i = inner.lock().expect("lock");
                let Gathering { round, mut names, mut queries, history } = i.gathering.take().expect("a gathering round");
                i.recurring_alarms.retain(|_, at| active(at, sent));
                i.recurring_queries.retain(|_, at| active(at, sent));
                i.recurring_history.retain(|_, at| active(at, sent));
                names.extend(i.recurring_alarms.keys().cloned());
                queries.extend(i.recurring_queries.keys().cloned());
                // History is read for everyone once someone needs it this round.
                let history = history.map(|h| i.recurring_history.keys().copied().fold(h, SystemTime::min));
                i.in_flight.push(InFlight { id, round, sent, names: names.clone(), queries: queries.clone(), history });
                (names.into_iter().collect::<Vec<_>>(), queries, history)
            };
            let result = fetch(api.as_ref(), &inner, sent, &names, queries, history).await;
            inner.lock().expect("lock").in_flight.retain(|f| f.id != id);
            result
        }
        .boxed()
        .shared()
    }
}

/// Sends one round's calls and stores the answers, stamped `sent`.
async fn fetch(
    api: &dyn CloudWatchApi,
    inner: &Mutex<Inner>,
    sent: Instant,
    names: &[String],
    queries: BTreeSet<MetricQuery>,
    history: Option<SystemTime>,
) -> Result<(), AwsError> {
    for chunk in names.chunks(MAX_ALARM_NAMES_PER_CALL) {
        let found = api.describe_alarms(chunk).await?;
        let mut i = inner.lock().expect("lock");
        for name in chunk {
            let state = found.iter().find(|a| &a.name == name).cloned();
            i.alarms.insert(name.clone(), (sent, state));
        }
    }
    if let Some(since) = history {
        fetch_history(api, inner, sent, since).await?;
    }
    let mut by_period: BTreeMap<Duration, Vec<MetricQuery>> = BTreeMap::new();
    for q in queries {
        by_period.entry(q.period).or_default().push(q);
    }
    let end = window_end(SystemTime::now());
    for qs in by_period.values() {
        for chunk in qs.chunks(MAX_QUERIES_PER_CALL) {
            let values = api.get_metric_data(chunk, end).await?;
            let mut i = inner.lock().expect("lock");
            for (q, v) in chunk.iter().zip(values.into_iter().chain(std::iter::repeat(None))) {
                i.values.insert(q.clone(), (sent, v));
            }
        }
    }
    Ok(())
}

/// Reads every alarm's history back to `since`: all of it the first time (or
/// when asked to go further back than read before), then only what is newer
/// than the previous read less [`HISTORY_OVERLAP`]. Pages come newest first;
/// the last page read is the first that reaches back far enough.
async fn fetch_history(api: &dyn CloudWatchApi, inner: &Mutex<Inner>, sent: Instant, since: SystemTime) -> Result<(), AwsError> {
    let wall = crate::clock::now();
    let stop_at = {
        let i = inner.lock().expect("lock");
        match &i.history {
            Some(h) if h.back_to <= since => since.max(h.fetched_wall.checked_sub(HISTORY_OVERLAP).unwrap_or(since)),
            _ => since,
        }
    };
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = api.describe_alarm_history(token.as_deref()).await?;
        let reached_back = page.items.iter().any(|t| t.at < stop_at);
        items.extend(page.items.into_iter().filter(|t| t.at >= stop_at));
        token = page.next_token;
        if token.is_none() || reached_back {
            break;
        }
    }
    let mut i = inner.lock().expect("lock");
    // What no reader asks for any more is dropped: the oldest moment still asked for bounds what is kept.
    let keep_from = i.recurring_history.keys().copied().fold(since, SystemTime::min);
    let (mut kept, back_to) = match i.history.take() {
        Some(h) if h.back_to <= since => (h.items, h.back_to.max(keep_from)),
        _ => (BTreeSet::new(), since),
    };
    kept.retain(|t| t.at >= keep_from);
    kept.extend(items);
    i.history = Some(History { items: kept, back_to, fetched: sent, fetched_wall: wall });
    Ok(())
}

fn answer(inner: &Inner, req: &WatchRequest) -> WatchAnswer {
    let history = match (req.history_since, &inner.history) {
        (Some(since), Some(h)) => h.items.iter().filter(|t| t.at >= since && req.alarms.contains(&t.name)).cloned().collect(),
        _ => Vec::new(),
    };
    WatchAnswer {
        alarms: req.alarms.iter().map(|n| (n.clone(), inner.alarms.get(n).and_then(|(_, s)| s.clone()))).collect(),
        values: req.queries.iter().map(|q| (q.clone(), inner.values.get(q).and_then(|(_, v)| *v))).collect(),
        history,
    }
}

/// Windows end at the next whole minute, so the minute in progress counts
/// and every window starts on a whole minute (CloudWatch rounds start times
/// down to the minute).
pub fn window_end(now: SystemTime) -> SystemTime {
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs((secs / 60 + 1) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cloudwatch::AlarmStateValue;
    use crate::testing::FakeCloudWatch;

    fn q(tg: &str, period: u64) -> MetricQuery {
        MetricQuery {
            namespace: "AWS/ApplicationELB".into(),
            metric_name: "RequestCount".into(),
            dimensions: vec![("TargetGroup".into(), tg.into())],
            stat: "Sum".into(),
            period: Duration::from_secs(period),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn readers_woken_by_one_tick_share_one_call_of_each_kind() {
        let fake = Arc::new(FakeCloudWatch::default());
        for i in 0..250 {
            fake.set_alarm(&format!("a{i}"), AlarmStateValue::Ok, "fine");
            fake.set_value(&q(&format!("tg{i}"), 300), 10.0);
        }
        let reader = CloudWatchReader::new(fake.clone());
        let tick = reader.last_tick(Duration::from_secs(30));
        let mut tasks = Vec::new();
        for i in 0..250 {
            let r = reader.clone();
            tasks.push(tokio::spawn(async move {
                let req = WatchRequest {
                    alarms: vec![format!("a{i}")],
                    queries: vec![q(&format!("tg{i}"), 300), q(&format!("tg{i}"), 300)],
                    history_since: None,
                };
                r.read(&req, tick).await
            }));
        }
        for t in tasks {
            let a = t.await.unwrap().unwrap();
            assert_eq!(a.alarms.len(), 1);
            assert_eq!(a.values.values().copied().collect::<Vec<_>>(), [Some(10.0)]);
        }
        // 250 names: 3 calls of ≤ 100; 250 queries: one call.
        assert_eq!(fake.calls("DescribeAlarms"), 3);
        assert_eq!(fake.calls("GetMetricData"), 1);
        assert_eq!(fake.largest_batch("DescribeAlarms"), 100);
        // Read again before the next tick: nothing is fetched.
        let again = reader.read(&WatchRequest { alarms: vec!["a1".into()], queries: vec![], ..Default::default() }, tick).await.unwrap();
        assert_eq!(again.alarms["a1"].as_ref().unwrap().state, AlarmStateValue::Ok);
        assert_eq!(fake.calls("DescribeAlarms"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn periods_are_read_in_separate_calls_and_missing_alarms_are_none() {
        let fake = Arc::new(FakeCloudWatch::default());
        fake.set_value(&q("tg", 300), 5.0);
        let reader = CloudWatchReader::new(fake.clone());
        let req = WatchRequest { alarms: vec!["nope".into()], queries: vec![q("tg", 300), q("tg", 60)], ..Default::default() };
        let a = reader.read(&req, Instant::now()).await.unwrap();
        assert_eq!(a.alarms["nope"], None);
        assert_eq!(a.value(&q("tg", 300)), Some(5.0));
        assert_eq!(a.value(&q("tg", 60)), None);
        assert_eq!(fake.calls("GetMetricData"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_after_the_next_tick_fetches_again() {
        let fake = Arc::new(FakeCloudWatch::default());
        fake.set_alarm("a", AlarmStateValue::Ok, "");
        let reader = CloudWatchReader::new(fake.clone());
        let every = Duration::from_secs(10);
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![], ..Default::default() };
        reader.read(&req, reader.last_tick(every)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        reader.read(&req, reader.last_tick(every)).await.unwrap();
        assert_eq!(fake.calls("DescribeAlarms"), 1);
        tokio::time::sleep_until(reader.next_tick(every)).await;
        fake.set_alarm("a", AlarmStateValue::Alarm, "Threshold Crossed");
        let a = reader.read(&req, reader.last_tick(every)).await.unwrap();
        assert_eq!(fake.calls("DescribeAlarms"), 2);
        assert_eq!(a.alarms["a"].as_ref().unwrap().state, AlarmStateValue::Alarm);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_late_for_its_tick_finds_its_values_fetched() {
        let fake = Arc::new(FakeCloudWatch::default());
        let reader = CloudWatchReader::new(fake.clone());
        let every = Duration::from_secs(10);
        let a = WatchRequest { alarms: vec!["a".into()], queries: vec![], ..Default::default() };
        let b = WatchRequest { alarms: vec!["b".into()], queries: vec![q("tg-b", 60)], ..Default::default() };
        reader.read_every(&a, every).await.unwrap();
        reader.read_every(&b, every).await.unwrap();
        assert_eq!(fake.calls("DescribeAlarms"), 2, "two first reads, apart");
        // Next tick: `a` on time, `b` three seconds late (after the round was sent).
        tokio::time::sleep_until(reader.next_tick(every)).await;
        reader.read_every(&a, every).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        reader.read_every(&b, every).await.unwrap();
        assert_eq!((fake.calls("DescribeAlarms"), fake.calls("GetMetricData")), (3, 2), "b's keys rode along with a's round");
        assert_eq!(fake.largest_batch("DescribeAlarms"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_arriving_while_a_round_is_in_flight_waits_for_it() {
        let fake = Arc::new(FakeCloudWatch::default());
        fake.set_alarm("a", AlarmStateValue::Ok, "");
        fake.set_latency(Duration::from_secs(2));
        let reader = CloudWatchReader::new(fake.clone());
        let every = Duration::from_secs(10);
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![q("tg", 60)], ..Default::default() };
        reader.read_every(&req, every).await.unwrap();
        tokio::time::sleep_until(reader.next_tick(every)).await;
        let on_time = {
            let (r, req) = (reader.clone(), req.clone());
            tokio::spawn(async move { r.read_every(&req, every).await })
        };
        // Late by a second: the tick's round was sent after GATHER and is still waiting for DescribeAlarms.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let late = reader.read_every(&req, every).await.unwrap();
        on_time.await.unwrap().unwrap();
        assert_eq!(late.alarms["a"].as_ref().unwrap().state, AlarmStateValue::Ok);
        assert_eq!((fake.calls("DescribeAlarms"), fake.calls("GetMetricData")), (2, 2), "one round per tick");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_read_does_not_take_the_last_ticks_values() {
        let fake = Arc::new(FakeCloudWatch::default());
        fake.set_alarm("a", AlarmStateValue::Ok, "");
        let reader = CloudWatchReader::new(fake.clone());
        let every = Duration::from_secs(10);
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![], ..Default::default() };
        reader.read_every(&req, every).await.unwrap();
        tokio::time::sleep(Duration::from_secs(6)).await;
        fake.set_alarm("a", AlarmStateValue::Alarm, "Threshold Crossed");
        assert_eq!(reader.read_every(&req, every).await.unwrap().alarms["a"].as_ref().unwrap().state, AlarmStateValue::Ok);
        let fresh = reader.read_fresh(&req, every).await.unwrap();
        assert_eq!(fresh.alarms["a"].as_ref().unwrap().state, AlarmStateValue::Alarm, "read again, not the 0 s tick's");
        // Right after, a second check before an increase (another resource) shares it.
        reader.read_fresh(&req, every).await.unwrap();
        assert_eq!(fake.calls("DescribeAlarms"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn alarm_history_is_read_back_once_then_only_what_is_new() {
        let fake = Arc::new(FakeCloudWatch::default());
        let now = crate::clock::now();
        // 250 state changes of "busy", one a minute, and one of "a" 40 minutes ago.
        for i in 0..250u64 {
            let (old, new) =
                if i % 2 == 0 { (AlarmStateValue::Ok, AlarmStateValue::Alarm) } else { (AlarmStateValue::Alarm, AlarmStateValue::Ok) };
            fake.record("busy", old, new, now - Duration::from_secs(60 * (250 - i)));
        }
        let fired = now - Duration::from_secs(40 * 60 + 30);
        fake.record("a", AlarmStateValue::Ok, AlarmStateValue::Alarm, fired);
        fake.set_alarm("a", AlarmStateValue::Ok, "");
        let reader = CloudWatchReader::new(fake.clone());
        let every = Duration::from_secs(10);
        let since = now - Duration::from_secs(5 * 3600);
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![], history_since: Some(since) };
        let first = reader.read_every(&req, every).await.unwrap();
        assert_eq!(first.history.iter().map(|t| t.at).collect::<Vec<_>>(), [fired], "only the alarms asked for");
        assert_eq!(fake.calls("DescribeAlarmHistory"), 3, "251 items back to 5 h ago: three pages of 100");
        // The next tick: one page reaches back past the previous read (less the overlap).
        tokio::time::sleep(every).await;
        fake.set_alarm("a", AlarmStateValue::Alarm, "Threshold Crossed");
        let second = reader.read_every(&req, every).await.unwrap();
        assert_eq!(fake.calls("DescribeAlarmHistory"), 4);
        assert_eq!(second.history.len(), 2, "the old change kept, the new one added: {:?}", second.history);
        // A reader asking from later gets only what is later; one asking from further back makes a full read.
        let later = WatchRequest { history_since: Some(fired + Duration::from_secs(1)), ..req.clone() };
        assert_eq!(reader.read_every(&later, every).await.unwrap().history.len(), 1);
        assert_eq!(fake.calls("DescribeAlarmHistory"), 4, "shared: nothing more to read this tick");
    }

    #[test]
    fn windows_end_on_the_next_minute() {
        assert_eq!(window_end(UNIX_EPOCH + Duration::from_secs(125)), UNIX_EPOCH + Duration::from_secs(180));
        assert_eq!(window_end(UNIX_EPOCH + Duration::from_secs(120)), UNIX_EPOCH + Duration::from_secs(180));
    }
}
