//! [`Route53Api`], [`Elbv2Api`] and [`CloudWatchApi`] behind a [`Pacer`]: every call waits for
//! the service's rate limiter and is retried as [`super::retry`] says.
//! Wraps the SDK clients (or fakes, in tests) once per provider process.

use std::sync::Arc;

use async_trait::async_trait;

use super::cloudwatch::{AlarmState, CloudWatchApi, HistoryPage, MetricQuery};
use super::elbv2::{Condition, Elbv2Api, Forward, Listener, ListenerSelector, LoadBalancer, Rule, Selector, TargetGroup, TargetHealth};
use super::retry::Pacer;
use super::route53::{Change, ChangeInfo, HealthCheck, HealthCheckConfig, HealthCheckPage, HostedZone, ListStart, RecordPage, Route53Api};
use crate::error::AwsError;

/// Route 53 through a pacer.
pub struct PacedRoute53 {
    inner: Arc<dyn Route53Api>,
    pacer: Arc<Pacer>,
}

impl PacedRoute53 {
    /// Route 53 calls to `inner`, paced and retried by `pacer`.
    pub fn new(inner: Arc<dyn Route53Api>, pacer: Arc<Pacer>) -> Self {
        Self { inner, pacer }
    }
}

#[async_trait]
impl Route53Api for PacedRoute53 {
    async fn get_hosted_zone(&self, zone_id: &str) -> Result<HostedZone, AwsError> {
        self.pacer.call("GetHostedZone", || self.inner.get_hosted_zone(zone_id)).await
    }

    async fn list_hosted_zones_by_name(&self, dns_name: &str, max_items: i32) -> Result<Vec<HostedZone>, AwsError> {
        self.pacer.call("ListHostedZonesByName", || self.inner.list_hosted_zones_by_name(dns_name, max_items)).await
    }

    async fn list_record_sets(&self, zone_id: &str, start: &ListStart, max_items: i32) -> Result<RecordPage, AwsError> {
        self.pacer.call("ListResourceRecordSets", || self.inner.list_record_sets(zone_id, start, max_items)).await
    }

    async fn change_record_sets(&self, zone_id: &str, comment: &str, changes: &[Change]) -> Result<ChangeInfo, AwsError> {
        self.pacer.call("ChangeResourceRecordSets", || self.inner.change_record_sets(zone_id, comment, changes)).await
    }

    async fn get_change(&self, change_id: &str) -> Result<ChangeInfo, AwsError> {
        self.pacer.call("GetChange", || self.inner.get_change(change_id)).await
    }

    async fn create_health_check(&self, caller_reference: &str, config: &HealthCheckConfig) -> Result<HealthCheck, AwsError> {
        // Every retry carries the same caller reference: Route 53 answers a repeat with the check the first attempt made.
        self.pacer.call("CreateHealthCheck", || self.inner.create_health_check(caller_reference, config)).await
    }

    async fn list_health_checks(&self, marker: Option<&str>, max_items: i32) -> Result<HealthCheckPage, AwsError> {
        self.pacer.call("ListHealthChecks", || self.inner.list_health_checks(marker, max_items)).await
    }

    async fn delete_health_check(&self, id: &str) -> Result<(), AwsError> {
        self.pacer.call("DeleteHealthCheck", || self.inner.delete_health_check(id)).await
    }
}

/// ELBv2 through a pacer.
pub struct PacedElbv2 {
    inner: Arc<dyn Elbv2Api>,
    pacer: Arc<Pacer>,
}

impl PacedElbv2 {
    /// ELBv2 calls to `inner`, paced and retried by `pacer`.
    pub fn new(inner: Arc<dyn Elbv2Api>, pacer: Arc<Pacer>) -> Self {
        Self { inner, pacer }
    }
}

#[async_trait]
impl Elbv2Api for PacedElbv2 {
    async fn describe_load_balancers(&self, by: &Selector) -> Result<Vec<LoadBalancer>, AwsError> {
        self.pacer.call("DescribeLoadBalancers", || self.inner.describe_load_balancers(by)).await
    }

    async fn describe_listeners(&self, by: &ListenerSelector) -> Result<Vec<Listener>, AwsError> {
        self.pacer.call("DescribeListeners", || self.inner.describe_listeners(by)).await
    }

    async fn describe_target_groups(&self, by: &Selector) -> Result<Vec<TargetGroup>, AwsError> {
        self.pacer.call("DescribeTargetGroups", || self.inner.describe_target_groups(by)).await
    }

    async fn describe_target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>, AwsError> {
        self.pacer.call("DescribeTargetHealth", || self.inner.describe_target_health(target_group_arn)).await
    }

    async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, AwsError> {
        self.pacer.call("DescribeRules", || self.inner.describe_rules(listener_arn)).await
    }

    async fn create_rule(&self, listener_arn: &str, priority: i32, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        self.pacer.call("CreateRule", || self.inner.create_rule(listener_arn, priority, conditions, forward)).await
    }

    async fn modify_rule(&self, rule_arn: &str, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        self.pacer.call("ModifyRule", || self.inner.modify_rule(rule_arn, conditions, forward)).await
    }

    async fn delete_rule(&self, rule_arn: &str) -> Result<(), AwsError> {
        self.pacer.call("DeleteRule", || self.inner.delete_rule(rule_arn)).await
    }

    async fn set_rule_priorities(&self, priorities: &[(String, i32)]) -> Result<(), AwsError> {
        self.pacer.call("SetRulePriorities", || self.inner.set_rule_priorities(priorities)).await
    }

    async fn modify_listener_default(&self, listener_arn: &str, forward: &Forward) -> Result<(), AwsError> {
        self.pacer.call("ModifyListener", || self.inner.modify_listener_default(listener_arn, forward)).await
    }

    async fn tag_rules(&self, rule_arns: &[String]) -> Result<(), AwsError> {
        self.pacer.call("AddTags", || self.inner.tag_rules(rule_arns)).await
    }
}

/// CloudWatch through a pacer.
pub struct PacedCloudWatch {
    inner: Arc<dyn CloudWatchApi>,
    pacer: Arc<Pacer>,
}

impl PacedCloudWatch {
    /// CloudWatch calls to `inner`, paced and retried by `pacer`.
    pub fn new(inner: Arc<dyn CloudWatchApi>, pacer: Arc<Pacer>) -> Self {
        Self { inner, pacer }
    }
}

#[async_trait]
impl CloudWatchApi for PacedCloudWatch {
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<AlarmState>, AwsError> {
        self.pacer.call("DescribeAlarms", || self.inner.describe_alarms(names)).await
    }

    async fn get_metric_data(&self, queries: &[MetricQuery], end: std::time::SystemTime) -> Result<Vec<Option<f64>>, AwsError> {
        self.pacer.call("GetMetricData", || self.inner.get_metric_data(queries, end)).await
    }

    async fn describe_alarm_history(&self, token: Option<&str>) -> Result<HistoryPage, AwsError> {
        self.pacer.call("DescribeAlarmHistory", || self.inner.describe_alarm_history(token)).await
    }
}
