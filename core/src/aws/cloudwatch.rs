//! CloudWatch, reduced to what gates read: alarm states (DescribeAlarms),
//! alarm state changes (DescribeAlarmHistory) and metric statistics
//! (GetMetricData), behind a trait so gates can be tested against a fake.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_cloudwatch as cw;

use super::sdk_error::classify;
use crate::error::AwsError;

/// AWS's limit on names in one DescribeAlarms call.
pub const MAX_ALARM_NAMES_PER_CALL: usize = 100;
/// AWS's limit on queries in one GetMetricData call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// An alarm's state value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlarmStateValue {
    /// The alarm's condition is not met.
    Ok,
    /// The alarm's condition is met.
    Alarm,
    /// Not enough data to judge the condition.
    InsufficientData,
}

impl AlarmStateValue {
    /// The state as CloudWatch spells it: `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmStateValue::Ok => "OK",
            AlarmStateValue::Alarm => "ALARM",
            AlarmStateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// One alarm as DescribeAlarms reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmState {
    /// The alarm's name.
    pub name: String,
    /// Its current state.
    pub state: AlarmStateValue,
    /// `StateReason`, the sentence CloudWatch wrote when the state changed.
    pub reason: String,
}

/// One statistic of one metric, over one period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricQuery {
    /// The metric's namespace, e.g. `AWS/ApplicationELB`.
    pub namespace: String,
    /// The metric's name, e.g. `HTTPCode_Target_5XX_Count`.
    pub metric_name: String,
    /// (name, value), in the order AWS publishes them.
    pub dimensions: Vec<(String, String)>,
    /// `Sum`, `Average`, `SampleCount`, `p99`, …
    pub stat: String,
    /// The period, which is also the window read: one value per query.
    pub period: Duration,
}

/// How long CloudWatch keeps alarm history: a gate judges at most this far back.
pub const ALARM_HISTORY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

/// One state change of an alarm, from its history (a `StateUpdate` item).
///
/// On AWS `at` is the moment of the change. Some endpoints stamp an item with
/// the moment its *old* state began instead (LocalStack does); a question
/// asked of the old and new states together ("was this alarm in ALARM at any
/// moment after t?": an item at or after t with either state ALARM) has the
/// same answer on both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlarmTransition {
    /// When it happened (see above).
    pub at: SystemTime,
    /// The alarm's name.
    pub name: String,
    /// The state it left.
    pub old: AlarmStateValue,
    /// The state it entered.
    pub new: AlarmStateValue,
}

/// One page of alarm history, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// The state changes on this page.
    pub items: Vec<AlarmTransition>,
    /// The token of the next (older) page; `None` on the last.
    pub next_token: Option<String>,
}

/// The CloudWatch calls gates make. Implemented by [`SdkCloudWatch`] for AWS
/// and by fakes in tests.
#[async_trait]
pub trait CloudWatchApi: Send + Sync {
    /// States of the named alarms (metric and composite) that exist; at most
    /// [`MAX_ALARM_NAMES_PER_CALL`] names. A name that is not returned does not exist.
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<AlarmState>, AwsError>;
    /// One value per query for `[end - query.period, end)`, in query order;
    /// `None` when CloudWatch has no data point. At most
    /// [`MAX_QUERIES_PER_CALL`] queries, all with the same period.
    async fn get_metric_data(&self, queries: &[MetricQuery], end: SystemTime) -> Result<Vec<Option<f64>>, AwsError>;
    /// One page (at most 100 items) of every alarm's state changes, newest
    /// first, from `token` (`None`: the newest page). Items older than the
    /// caller needs are left for the caller to drop: the request names no
    /// start date, and the caller stops asking once a page reaches back far
    /// enough.
    async fn describe_alarm_history(&self, token: Option<&str>) -> Result<HistoryPage, AwsError>;
}

/// `OK`, `ALARM`, `INSUFFICIENT_DATA` as history data spells them.
fn state_from_str(s: &str) -> Option<AlarmStateValue> {
    match s {
        "OK" => Some(AlarmStateValue::Ok),
        "ALARM" => Some(AlarmStateValue::Alarm),
        "INSUFFICIENT_DATA" => Some(AlarmStateValue::InsufficientData),
        _ => None,
    }
}

/// The old and new state of a `StateUpdate` item's `HistoryData`
/// (`{"oldState":{"stateValue":"OK",…},"newState":{"stateValue":"ALARM",…}}`).
pub fn parse_history_data(data: &str) -> Option<(AlarmStateValue, AlarmStateValue)> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    let state = |k: &str| v.get(k)?.get("stateValue")?.as_str().and_then(state_from_str);
    Some((state("oldState")?, state("newState")?))
}

/// CloudWatch through the SDK.
pub struct SdkCloudWatch {
    client: cw::Client,
}

impl SdkCloudWatch {
    /// CloudWatch through `client`.
    pub fn new(client: cw::Client) -> Self {
        Self { client }
    }
}

fn state_from_sdk(s: Option<&cw::types::StateValue>) -> AlarmStateValue {
    match s {
        Some(cw::types::StateValue::Ok) => AlarmStateValue::Ok,
        Some(cw::types::StateValue::Alarm) => AlarmStateValue::Alarm,
        _ => AlarmStateValue::InsufficientData,
    }
}

#[async_trait]
impl CloudWatchApi for SdkCloudWatch {
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<AlarmState>, AwsError> {
        const OP: &str = "DescribeAlarms";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(cw::types::AlarmType::MetricAlarm)
                .alarm_types(cw::types::AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(OP, e))?;
            out.extend(page.metric_alarms().iter().map(|a| AlarmState {
                name: a.alarm_name().unwrap_or_default().to_string(),
                state: state_from_sdk(a.state_value()),
                reason: a.state_reason().unwrap_or_default().to_string(),
            }));
            out.extend(page.composite_alarms().iter().map(|a| AlarmState {
                name: a.alarm_name().unwrap_or_default().to_string(),
                state: state_from_sdk(a.state_value()),
                reason: a.state_reason().unwrap_or_default().to_string(),
            }));
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn describe_alarm_history(&self, token: Option<&str>) -> Result<HistoryPage, AwsError> {
        const OP: &str = "DescribeAlarmHistory";
        // No StartDate: pages come newest first and the reader stops once it has gone back far enough. (LocalStack
        // also fails a request with StartDate; see tools/LOCALSTACK_NOTES.md.)
        let page = self
            .client
            .describe_alarm_history()
            .history_item_type(cw::types::HistoryItemType::StateUpdate)
            .alarm_types(cw::types::AlarmType::MetricAlarm)
            .alarm_types(cw::types::AlarmType::CompositeAlarm)
            .scan_by(cw::types::ScanBy::TimestampDescending)
            .max_records(100)
            .set_next_token(token.map(str::to_string))
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let items = page
            .alarm_history_items()
            .iter()
            .filter(|i| i.history_item_type() == Some(&cw::types::HistoryItemType::StateUpdate))
            .filter_map(|i| {
                let (old, new) = parse_history_data(i.history_data()?)?;
                Some(AlarmTransition { at: SystemTime::try_from(*i.timestamp()?).ok()?, name: i.alarm_name()?.to_string(), old, new })
            })
            .collect();
        Ok(HistoryPage { items, next_token: page.next_token().filter(|t| !t.is_empty()).map(str::to_string) })
    }

    async fn get_metric_data(&self, queries: &[MetricQuery], end: SystemTime) -> Result<Vec<Option<f64>>, AwsError> {
        const OP: &str = "GetMetricData";
        let Some(period) = queries.first().map(|q| q.period) else { return Ok(Vec::new()) };
        let start = end.checked_sub(period).unwrap_or(SystemTime::UNIX_EPOCH);
        let sdk_queries: Vec<cw::types::MetricDataQuery> = queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let metric = cw::types::Metric::builder()
                    .namespace(&q.namespace)
                    .metric_name(&q.metric_name)
                    .set_dimensions(Some(
                        q.dimensions.iter().map(|(n, v)| cw::types::Dimension::builder().name(n).value(v).build()).collect(),
                    ))
                    .build();
                let stat = cw::types::MetricStat::builder()
                    .metric(metric)
                    .period(i32::try_from(q.period.as_secs()).unwrap_or(i32::MAX))
                    .stat(&q.stat)
                    .build();
                cw::types::MetricDataQuery::builder().id(format!("q{i}")).metric_stat(stat).return_data(true).build()
            })
            .collect();
        let mut out: Vec<Option<f64>> = vec![None; queries.len()];
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(sdk_queries.clone()))
                .start_time(aws_smithy_types::DateTime::from(start))
                .end_time(aws_smithy_types::DateTime::from(end))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify(OP, e))?;
            for r in page.metric_data_results() {
                let Some(i) = r.id().and_then(|id| id.strip_prefix('q')).and_then(|n| n.parse::<usize>().ok()) else { continue };
                let Some(slot) = out.get_mut(i) else { continue };
                // Only the bucket of our window: an endpoint that also returns the bucket starting at `end`
                // (LocalStack does, for a data point right on the minute) must not count it.
                let in_window =
                    r.timestamps().iter().zip(r.values()).filter(|(t, _)| SystemTime::try_from(**t).is_ok_and(|t| t >= start && t < end));
                for (_, v) in in_window {
                    *slot = Some(match (*slot, queries[i].stat.as_str()) {
                        (Some(prev), "Sum" | "SampleCount") => prev + v,
                        (Some(prev), _) => prev,
                        (None, _) => *v,
                    });
                }
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
