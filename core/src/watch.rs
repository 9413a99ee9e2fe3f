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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

use crate::aws::cloudwatch::{AlarmState, CloudWatchApi, MetricQuery, MAX_ALARM_NAMES_PER_CALL, MAX_QUERIES_PER_CALL};
use crate::error::AwsError;

/// How long a round waits for other readers before it sends.
pub const GATHER: Duration = Duration::from_millis(500);

/// What one check wants to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchRequest {
    /// Alarm names whose state to read.
    pub alarms: Vec<String>,
    /// Metric statistics to read.
    pub queries: Vec<MetricQuery>,
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
}

#[derive(Default)]
struct Inner {
    alarms: HashMap<String, (Instant, Option<AlarmState>)>,
    values: HashMap<MetricQuery, (Instant, Option<f64>)>,
    /// The round still gathering, and what it will ask for.
    gathering: Option<(Round, BTreeSet<String>, BTreeSet<MetricQuery>)>,
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
                if missing_alarms.is_empty() && missing_queries.is_empty() {
                    return Ok(answer(&inner, req));
                }
                let covering = inner.in_flight.iter().find(|f| {
                    f.sent >= fresh_since
                        && missing_alarms.iter().all(|n| f.names.contains(*n))
                        && missing_queries.iter().all(|q| f.queries.contains(*q))
                });
                if let Some(f) = covering {
                    f.round.clone()
                } else {
                    match &mut inner.gathering {
                        Some((round, names, queries)) => {
                            names.extend(missing_alarms.into_iter().cloned());
                            queries.extend(missing_queries.into_iter().cloned());
                            round.clone()
                        }
                        None => {
                            let round = self.round();
                            inner.gathering = Some((
                                round.clone(),
                                missing_alarms.into_iter().cloned().collect(),
                                missing_queries.into_iter().cloned().collect(),
                            ));
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
            let (names, queries) = {
                let mut i = inner.lock().expect("lock");
                let (round, mut names, mut queries) = i.gathering.take().expect("a gathering round");
                i.recurring_alarms.retain(|_, at| active(at, sent));
                i.recurring_queries.retain(|_, at| active(at, sent));
                names.extend(i.recurring_alarms.keys().cloned());
                queries.extend(i.recurring_queries.keys().cloned());
                i.in_flight.push(InFlight { id, round, sent, names: names.clone(), queries: queries.clone() });
                (names.into_iter().collect::<Vec<_>>(), queries)
            };
            let result = fetch(api.as_ref(), &inner, sent, &names, queries).await;
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
) -> Result<(), AwsError> {
    for chunk in names.chunks(MAX_ALARM_NAMES_PER_CALL) {
        let found = api.describe_alarms(chunk).await?;
        let mut i = inner.lock().expect("lock");
        for name in chunk {
            let state = found.iter().find(|a| &a.name == name).cloned();
            i.alarms.insert(name.clone(), (sent, state));
        }
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

fn answer(inner: &Inner, req: &WatchRequest) -> WatchAnswer {
    WatchAnswer {
        alarms: req.alarms.iter().map(|n| (n.clone(), inner.alarms.get(n).and_then(|(_, s)| s.clone()))).collect(),
        values: req.queries.iter().map(|q| (q.clone(), inner.values.get(q).and_then(|(_, v)| *v))).collect(),
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
                let req =
                    WatchRequest { alarms: vec![format!("a{i}")], queries: vec![q(&format!("tg{i}"), 300), q(&format!("tg{i}"), 300)] };
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
        let again = reader.read(&WatchRequest { alarms: vec!["a1".into()], queries: vec![] }, tick).await.unwrap();
        assert_eq!(again.alarms["a1"].as_ref().unwrap().state, AlarmStateValue::Ok);
        assert_eq!(fake.calls("DescribeAlarms"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn periods_are_read_in_separate_calls_and_missing_alarms_are_none() {
        let fake = Arc::new(FakeCloudWatch::default());
        fake.set_value(&q("tg", 300), 5.0);
        let reader = CloudWatchReader::new(fake.clone());
        let req = WatchRequest { alarms: vec!["nope".into()], queries: vec![q("tg", 300), q("tg", 60)] };
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
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![] };
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
        let a = WatchRequest { alarms: vec!["a".into()], queries: vec![] };
        let b = WatchRequest { alarms: vec!["b".into()], queries: vec![q("tg-b", 60)] };
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
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![q("tg", 60)] };
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
        let req = WatchRequest { alarms: vec!["a".into()], queries: vec![] };
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

    #[test]
    fn windows_end_on_the_next_minute() {
        assert_eq!(window_end(UNIX_EPOCH + Duration::from_secs(125)), UNIX_EPOCH + Duration::from_secs(180));
        assert_eq!(window_end(UNIX_EPOCH + Duration::from_secs(120)), UNIX_EPOCH + Duration::from_secs(180));
    }
}
