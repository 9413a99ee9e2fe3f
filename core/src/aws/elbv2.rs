//! ELBv2 (Application Load Balancers), reduced to what cutovers need, behind a
//! trait so the engine can be tested against a fake.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2 as elb;

use super::sdk_error::classify;
use crate::error::AwsError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    /// The zone an alias record pointing at this load balancer must name.
    pub canonical_hosted_zone_id: String,
    pub vpc_id: String,
    pub scheme: String,
    pub lb_type: String,
}

/// One target group in a forward action, with its weight (0–999).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedTargetGroup {
    pub arn: String,
    pub weight: Option<i32>,
}

/// A listener or rule action, reduced to what we read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc`, …
    pub action_type: String,
    pub order: Option<i32>,
    /// For `forward`: the target groups (a single `TargetGroupArn` is reported
    /// as one entry without a weight).
    pub target_groups: Vec<WeightedTargetGroup>,
    /// For `forward`: target-group stickiness, in seconds, if enabled.
    pub stickiness_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: Option<i32>,
    pub protocol: String,
    pub default_actions: Vec<Action>,
}

impl Listener {
    /// Target groups the listener's default action forwards to.
    pub fn default_target_group_arns(&self) -> Vec<String> {
        self.default_actions
            .iter()
            .filter(|a| a.action_type == "forward")
            .flat_map(|a| a.target_groups.iter().map(|t| t.arn.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub port: Option<i32>,
    pub protocol: String,
    pub target_type: String,
    pub load_balancer_arns: Vec<String>,
}

/// A target's health as `DescribeTargetHealth` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub target_id: String,
    pub port: Option<i32>,
    /// initial, healthy, unhealthy, unhealthy.draining, unused, draining, unavailable
    pub state: String,
    pub reason: Option<String>,
}

/// How to find load balancers / target groups: by name or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Names(Vec<String>),
    Arns(Vec<String>),
}

/// How to find listeners: all of a load balancer, or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerSelector {
    LoadBalancer(String),
    Arns(Vec<String>),
}

/// The ELBv2 calls the engine makes. Implemented by [`SdkElbv2`] for AWS and
/// by fakes in tests.
#[async_trait]
pub trait Elbv2Api: Send + Sync {
    async fn describe_load_balancers(&self, by: &Selector) -> Result<Vec<LoadBalancer>, AwsError>;
    async fn describe_listeners(&self, by: &ListenerSelector) -> Result<Vec<Listener>, AwsError>;
    async fn describe_target_groups(&self, by: &Selector) -> Result<Vec<TargetGroup>, AwsError>;
    async fn describe_target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>, AwsError>;
}

/// [`Elbv2Api`] on the AWS SDK.
pub struct SdkElbv2 {
    client: elb::Client,
}

impl SdkElbv2 {
    pub fn new(client: elb::Client) -> Self {
        Self { client }
    }
}

pub(crate) fn action_from_sdk(a: &elb::types::Action) -> Action {
    let mut target_groups: Vec<WeightedTargetGroup> = a
        .forward_config()
        .map(|f| {
            f.target_groups()
                .iter()
                .filter_map(|t| t.target_group_arn().map(|arn| WeightedTargetGroup { arn: arn.to_string(), weight: t.weight() }))
                .collect()
        })
        .unwrap_or_default();
    if target_groups.is_empty() {
        if let Some(arn) = a.target_group_arn() {
            target_groups.push(WeightedTargetGroup { arn: arn.to_string(), weight: None });
        }
    }
    let stickiness_seconds = a
        .forward_config()
        .and_then(|f| f.target_group_stickiness_config())
        .filter(|s| s.enabled() == Some(true))
        .and_then(|s| s.duration_seconds());
    Action {
        action_type: a.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        order: a.order(),
        target_groups,
        stickiness_seconds,
    }
}

#[async_trait]
impl Elbv2Api for SdkElbv2 {
    async fn describe_load_balancers(&self, by: &Selector) -> Result<Vec<LoadBalancer>, AwsError> {
        const OP: &str = "DescribeLoadBalancers";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = self.client.describe_load_balancers().set_marker(marker.clone());
            req = match by {
                Selector::Names(n) => req.set_names(Some(n.clone())),
                Selector::Arns(a) => req.set_load_balancer_arns(Some(a.clone())),
            };
            let page = req.send().await.map_err(|e| classify(OP, e))?;
            out.extend(page.load_balancers().iter().map(|lb| LoadBalancer {
                arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
                name: lb.load_balancer_name().unwrap_or_default().to_string(),
                dns_name: lb.dns_name().unwrap_or_default().to_string(),
                canonical_hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
                vpc_id: lb.vpc_id().unwrap_or_default().to_string(),
                scheme: lb.scheme().map(|s| s.as_str().to_string()).unwrap_or_default(),
                lb_type: lb.r#type().map(|s| s.as_str().to_string()).unwrap_or_default(),
            }));
            marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn describe_listeners(&self, by: &ListenerSelector) -> Result<Vec<Listener>, AwsError> {
        const OP: &str = "DescribeListeners";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = self.client.describe_listeners().set_marker(marker.clone());
            req = match by {
                ListenerSelector::LoadBalancer(arn) => req.load_balancer_arn(arn),
                ListenerSelector::Arns(a) => req.set_listener_arns(Some(a.clone())),
            };
            let page = req.send().await.map_err(|e| classify(OP, e))?;
            out.extend(page.listeners().iter().map(|l| Listener {
                arn: l.listener_arn().unwrap_or_default().to_string(),
                load_balancer_arn: l.load_balancer_arn().unwrap_or_default().to_string(),
                port: l.port(),
                protocol: l.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
                default_actions: l.default_actions().iter().map(action_from_sdk).collect(),
            }));
            marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn describe_target_groups(&self, by: &Selector) -> Result<Vec<TargetGroup>, AwsError> {
        const OP: &str = "DescribeTargetGroups";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = self.client.describe_target_groups().set_marker(marker.clone());
            req = match by {
                Selector::Names(n) => req.set_names(Some(n.clone())),
                Selector::Arns(a) => req.set_target_group_arns(Some(a.clone())),
            };
            let page = req.send().await.map_err(|e| classify(OP, e))?;
            out.extend(page.target_groups().iter().map(|t| TargetGroup {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
                port: t.port(),
                protocol: t.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
                target_type: t.target_type().map(|p| p.as_str().to_string()).unwrap_or_default(),
                load_balancer_arns: t.load_balancer_arns().to_vec(),
            }));
            marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn describe_target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>, AwsError> {
        const OP: &str = "DescribeTargetHealth";
        let out = self.client.describe_target_health().target_group_arn(target_group_arn).send().await.map_err(|e| classify(OP, e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| TargetHealth {
                target_id: d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                port: d.target().and_then(|t| t.port()),
                state: d.target_health().and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_else(|| "unknown".into()),
                reason: d.target_health().and_then(|h| h.reason()).map(|r| r.as_str().to_string()),
            })
            .collect())
    }
}
