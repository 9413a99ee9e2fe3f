//! Listener rules, read once per listener and process.
//!
//! Several `bluegreen_canary_listener`s usually share one listener (one per service
//! behind a shared ALB). [`RuleCache`] wraps an [`Elbv2Api`] so that a
//! refresh of all of them costs one DescribeRules per listener: concurrent
//! readers of a listener share one fetch, and the result is reused for
//! [`RULES_MAX_AGE`]. Any rule or default-action write this process makes
//! drops what is cached, so a read after a write always goes to ELBv2.
//! Every other call passes straight through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::aws::elbv2::{
    Condition, Elbv2Api, Forward, Listener, ListenerSelector, LoadBalancer, Rule, Selector, TargetGroup, TargetHealth,
};
use crate::error::AwsError;

/// How long a listener's rules are reused.
pub const RULES_MAX_AGE: Duration = Duration::from_secs(60);

type Entry = Arc<tokio::sync::Mutex<Option<(Instant, Vec<Rule>)>>>;

/// Reads each listener's rules at most once per [`RULES_MAX_AGE`], sharing one read among concurrent callers.
pub struct RuleCache {
    inner: Arc<dyn Elbv2Api>,
    listeners: Mutex<HashMap<String, Entry>>,
}

impl RuleCache {
    /// A cache in front of `inner`.
    pub fn new(inner: Arc<dyn Elbv2Api>) -> Self {
        Self { inner, listeners: Mutex::new(HashMap::new()) }
    }

    fn entry(&self, listener_arn: &str) -> Entry {
        self.listeners.lock().expect("listeners lock").entry(listener_arn.to_string()).or_default().clone()
    }

    /// Forgets every cached listener. A reader still fetching keeps its
    /// (detached) entry and cannot repopulate the map.
    fn forget(&self) {
        self.listeners.lock().expect("listeners lock").clear();
    }
}

#[async_trait]
impl Elbv2Api for RuleCache {
    async fn describe_load_balancers(&self, by: &Selector) -> Result<Vec<LoadBalancer>, AwsError> {
        self.inner.describe_load_balancers(by).await
    }

    async fn describe_listeners(&self, by: &ListenerSelector) -> Result<Vec<Listener>, AwsError> {
        self.inner.describe_listeners(by).await
    }

    async fn describe_target_groups(&self, by: &Selector) -> Result<Vec<TargetGroup>, AwsError> {
        self.inner.describe_target_groups(by).await
    }

    async fn describe_target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>, AwsError> {
        self.inner.describe_target_health(target_group_arn).await
    }

    async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, AwsError> {
        let entry = self.entry(listener_arn);
        let mut cached = entry.lock().await;
        if let Some((at, rules)) = &*cached {
            if at.elapsed() < RULES_MAX_AGE {
                return Ok(rules.clone());
            }
        }
        let rules = self.inner.describe_rules(listener_arn).await?;
        *cached = Some((Instant::now(), rules.clone()));
        Ok(rules)
    }

    async fn create_rule(&self, listener_arn: &str, priority: i32, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        let r = self.inner.create_rule(listener_arn, priority, conditions, forward).await;
        self.forget();
        r
    }

    async fn modify_rule(&self, rule_arn: &str, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        let r = self.inner.modify_rule(rule_arn, conditions, forward).await;
        self.forget();
        r
    }

    async fn delete_rule(&self, rule_arn: &str) -> Result<(), AwsError> {
        let r = self.inner.delete_rule(rule_arn).await;
        self.forget();
        r
    }

    async fn set_rule_priorities(&self, priorities: &[(String, i32)]) -> Result<(), AwsError> {
        let r = self.inner.set_rule_priorities(priorities).await;
        self.forget();
        r
    }

    async fn modify_listener_default(&self, listener_arn: &str, forward: &Forward) -> Result<(), AwsError> {
        let r = self.inner.modify_listener_default(listener_arn, forward).await;
        self.forget();
        r
    }

    /// Tags are not part of the cached rules.
    async fn tag_rules(&self, rule_arns: &[String]) -> Result<(), AwsError> {
        self.inner.tag_rules(rule_arns).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeElbv2;
    use futures::future::join_all;

    const L: &str = "arn:listener/1";

    fn fwd() -> Forward {
        Forward { target_groups: vec![("tg-blue".into(), 100), ("tg-green".into(), 0)], stickiness_seconds: None }
    }

    fn fake() -> Arc<FakeElbv2> {
        let fake = Arc::new(FakeElbv2::default());
        fake.add_listener(L, fwd());
        fake.add_listener("arn:listener/2", fwd());
        fake
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reads_of_a_listener_share_one_describe_rules() {
        let fake = fake();
        let cache = RuleCache::new(fake.clone());
        let reads = join_all((0..10).map(|_| cache.describe_rules(L))).await;
        assert!(reads.iter().all(Result::is_ok));
        assert_eq!(fake.calls("DescribeRules"), 1);
        cache.describe_rules("arn:listener/2").await.unwrap();
        assert_eq!(fake.calls("DescribeRules"), 2, "per listener");
        tokio::time::advance(RULES_MAX_AGE).await;
        cache.describe_rules(L).await.unwrap();
        assert_eq!(fake.calls("DescribeRules"), 3, "aged out");
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_after_this_process_writes_sees_the_write() {
        let fake = fake();
        let cache = RuleCache::new(fake.clone());
        let before = cache.describe_rules(L).await.unwrap();
        let rule = cache.create_rule(L, 10, &[Condition::PathPattern(vec!["/api/*".into()])], &fwd()).await.unwrap();
        let after = cache.describe_rules(L).await.unwrap();
        assert_eq!(after.len(), before.len() + 1);
        assert!(after.iter().any(|r| r.arn == rule.arn));
        cache.delete_rule(&rule.arn).await.unwrap();
        assert!(!cache.describe_rules(L).await.unwrap().iter().any(|r| r.arn == rule.arn));
        assert_eq!(fake.calls("DescribeRules"), 3);
    }
}
