//! ELBv2 (Application Load Balancers), reduced to what cutovers need, behind a
//! trait so the engine can be tested against a fake.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2 as elb;

use super::sdk_error::classify;
use crate::error::AwsError;

#[derive(Debug, Clone, PartialEq, Eq)]
/// A load balancer as `DescribeLoadBalancers` reports it.
pub struct LoadBalancer {
    /// Its ARN.
    pub arn: String,
    /// Its name, unique per account and region.
    pub name: String,
    /// The DNS name clients resolve.
    pub dns_name: String,
    /// The zone an alias record pointing at this load balancer must name.
    pub canonical_hosted_zone_id: String,
    /// The VPC it is in.
    pub vpc_id: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// `application`, `network` or `gateway`.
    pub lb_type: String,
}

/// One target group in a forward action, with its weight (0–999).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedTargetGroup {
    /// The target group's ARN.
    pub arn: String,
    /// Its weight; `None` when the action names one target group without weights.
    pub weight: Option<i32>,
}

/// A listener or rule action, reduced to what we read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc`, …
    pub action_type: String,
    /// Where the action runs among the rule's actions (lowest first).
    pub order: Option<i32>,
    /// For `forward`: the target groups (a single `TargetGroupArn` is reported
    /// as one entry without a weight).
    pub target_groups: Vec<WeightedTargetGroup>,
    /// For `forward`: target-group stickiness, in seconds, if enabled.
    pub stickiness_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A listener as `DescribeListeners` reports it.
pub struct Listener {
    /// Its ARN.
    pub arn: String,
    /// The ARN of its load balancer.
    pub load_balancer_arn: String,
    /// The port it listens on (`None` for a Gateway Load Balancer).
    pub port: Option<i32>,
    /// `HTTP`, `HTTPS`, `TCP`, …
    pub protocol: String,
    /// What requests no rule matches get.
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
/// A target group as `DescribeTargetGroups` reports it.
pub struct TargetGroup {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The port targets receive traffic on (`None` for Lambda targets).
    pub port: Option<i32>,
    /// `HTTP`, `HTTPS`, `TCP`, …
    pub protocol: String,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: String,
    /// The load balancers whose rules forward to it.
    pub load_balancer_arns: Vec<String>,
}

/// A target's health as `DescribeTargetHealth` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// The instance id, IP address, Lambda ARN or ALB ARN.
    pub target_id: String,
    /// The port the target is registered on.
    pub port: Option<i32>,
    /// initial, healthy, unhealthy, unhealthy.draining, unused, draining, unavailable
    pub state: String,
    /// AWS's reason code for a state other than healthy, e.g. `Target.FailedHealthChecks`.
    pub reason: Option<String>,
}

/// A rule condition, reduced to the kinds a canary uses; others are kept
/// by field name so they can be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `host-header`: the request's host must match one of these patterns.
    HostHeader(Vec<String>),
    /// `path-pattern`: the request's path must match one of these patterns.
    PathPattern(Vec<String>),
    /// `http-header`: the header `name` must match one of `values`.
    HttpHeader {
        /// The header's name, e.g. `X-Canary`.
        name: String,
        /// The patterns one of which the header's value must match.
        values: Vec<String>,
    },
    /// Any other condition, by its field name.
    Other(String),
}

/// A listener rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its ARN.
    pub arn: String,
    /// `None` for the listener's default rule.
    pub priority: Option<i32>,
    /// All must match for the rule to apply.
    pub conditions: Vec<Condition>,
    /// What a matching request gets.
    pub actions: Vec<Action>,
}

/// A forward action to write: target groups with weights, optional stickiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// `(target group ARN, weight)` pairs; weights 0–999.
    pub target_groups: Vec<(String, i32)>,
    /// Target-group stickiness, in seconds; `None`: off.
    pub stickiness_seconds: Option<i32>,
}

/// How to find load balancers / target groups: by name or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// By name.
    Names(Vec<String>),
    /// By ARN.
    Arns(Vec<String>),
}

/// How to find listeners: all of a load balancer, or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerSelector {
    /// Every listener of the load balancer with this ARN.
    LoadBalancer(String),
    /// These listeners, by ARN.
    Arns(Vec<String>),
}

/// The ELBv2 calls the engine makes. Implemented by [`SdkElbv2`] for AWS and
/// by fakes in tests.
#[async_trait]
pub trait Elbv2Api: Send + Sync {
    /// The load balancers `by` selects.
    async fn describe_load_balancers(&self, by: &Selector) -> Result<Vec<LoadBalancer>, AwsError>;
    /// The listeners `by` selects.
    async fn describe_listeners(&self, by: &ListenerSelector) -> Result<Vec<Listener>, AwsError>;
    /// The target groups `by` selects, with the load balancers each serves.
    async fn describe_target_groups(&self, by: &Selector) -> Result<Vec<TargetGroup>, AwsError>;
    /// The health of every target registered in the target group.
    async fn describe_target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>, AwsError>;
    /// Every rule of a listener, sorted by priority (default rule last).
    async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, AwsError>;
    /// Adds a rule with `priority`, `conditions` and one forward action; returns it as created.
    async fn create_rule(&self, listener_arn: &str, priority: i32, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError>;
    /// Replaces the rule's conditions and actions whole (ModifyRule replaces lists).
    async fn modify_rule(&self, rule_arn: &str, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError>;
    /// Deletes the rule.
    async fn delete_rule(&self, rule_arn: &str) -> Result<(), AwsError>;
    /// Sets several rules' priorities in one call (`(rule ARN, priority)` pairs).
    async fn set_rule_priorities(&self, priorities: &[(String, i32)]) -> Result<(), AwsError>;
    /// Replaces the listener's default actions with one forward.
    async fn modify_listener_default(&self, listener_arn: &str, forward: &Forward) -> Result<(), AwsError>;
    /// Tags rules with [`MANAGED_BY`] (rules made before rules were tagged at creation). Idempotent.
    async fn tag_rules(&self, rule_arns: &[String]) -> Result<(), AwsError>;
}

/// The tag on every rule the provider creates (`key`, `value`), so an IAM
/// policy can limit ModifyRule, DeleteRule and SetRulePriorities to them
/// (condition `aws:ResourceTag/bluegreen:managed-by`).
pub const MANAGED_BY: (&str, &str) = ("bluegreen:managed-by", "terraform-provider-bluegreen");

fn managed_by_tag() -> elb::types::Tag {
    elb::types::Tag::builder().key(MANAGED_BY.0).value(MANAGED_BY.1).build()
}

fn condition_from_sdk(c: &elb::types::RuleCondition) -> Condition {
    let field = c.field().unwrap_or_default();
    match field {
        "host-header" => Condition::HostHeader(
            c.host_header_config().map(|h| h.values().to_vec()).filter(|v| !v.is_empty()).unwrap_or_else(|| c.values().to_vec()),
        ),
        "path-pattern" => Condition::PathPattern(
            c.path_pattern_config().map(|h| h.values().to_vec()).filter(|v| !v.is_empty()).unwrap_or_else(|| c.values().to_vec()),
        ),
        "http-header" => Condition::HttpHeader {
            name: c.http_header_config().and_then(|h| h.http_header_name()).unwrap_or_default().to_string(),
            values: c.http_header_config().map(|h| h.values().to_vec()).unwrap_or_default(),
        },
        other => Condition::Other(other.to_string()),
    }
}

fn condition_to_sdk(c: &Condition) -> elb::types::RuleCondition {
    use elb::types::{HostHeaderConditionConfig, HttpHeaderConditionConfig, PathPatternConditionConfig, RuleCondition};
    match c {
        Condition::HostHeader(v) => RuleCondition::builder()
            .field("host-header")
            .host_header_config(HostHeaderConditionConfig::builder().set_values(Some(v.clone())).build())
            .build(),
        Condition::PathPattern(v) => RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(PathPatternConditionConfig::builder().set_values(Some(v.clone())).build())
            .build(),
        Condition::HttpHeader { name, values } => RuleCondition::builder()
            .field("http-header")
            .http_header_config(HttpHeaderConditionConfig::builder().http_header_name(name).set_values(Some(values.clone())).build())
            .build(),
        Condition::Other(field) => RuleCondition::builder().field(field).build(),
    }
}

fn forward_to_sdk(f: &Forward) -> elb::types::Action {
    use elb::types::{ActionTypeEnum, ForwardActionConfig, TargetGroupStickinessConfig, TargetGroupTuple};
    let mut cfg = ForwardActionConfig::builder();
    for (arn, weight) in &f.target_groups {
        cfg = cfg.target_groups(TargetGroupTuple::builder().target_group_arn(arn).weight(*weight).build());
    }
    cfg = cfg.target_group_stickiness_config(match f.stickiness_seconds {
        Some(d) => TargetGroupStickinessConfig::builder().enabled(true).duration_seconds(d).build(),
        None => TargetGroupStickinessConfig::builder().enabled(false).build(),
    });
    elb::types::Action::builder().r#type(ActionTypeEnum::Forward).order(1).forward_config(cfg.build()).build()
}

fn rule_from_sdk(r: &elb::types::Rule) -> Rule {
    Rule {
        arn: r.rule_arn().unwrap_or_default().to_string(),
        priority: r.priority().and_then(|p| p.parse().ok()),
        conditions: r.conditions().iter().map(condition_from_sdk).collect(),
        actions: r.actions().iter().map(action_from_sdk).collect(),
    }
}

/// [`Elbv2Api`] on the AWS SDK.
pub struct SdkElbv2 {
    client: elb::Client,
}

impl SdkElbv2 {
    /// ELBv2 through `client`.
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

    async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, AwsError> {
        const OP: &str = "DescribeRules";
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_rules()
                .listener_arn(listener_arn)
                .page_size(400)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify(OP, e))?;
            out.extend(page.rules().iter().map(rule_from_sdk));
            marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        // Rules come back in creation order on some implementations: sort.
        out.sort_by_key(|r| r.priority.unwrap_or(i32::MAX));
        Ok(out)
    }

    async fn create_rule(&self, listener_arn: &str, priority: i32, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        const OP: &str = "CreateRule";
        let out = self
            .client
            .create_rule()
            .listener_arn(listener_arn)
            .priority(priority)
            .set_conditions(Some(conditions.iter().map(condition_to_sdk).collect()))
            .actions(forward_to_sdk(forward))
            .tags(managed_by_tag())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.rules().first().map(rule_from_sdk).ok_or_else(|| super::sdk_error::missing(OP, "Rules"))
    }

    async fn modify_rule(&self, rule_arn: &str, conditions: &[Condition], forward: &Forward) -> Result<Rule, AwsError> {
        const OP: &str = "ModifyRule";
        let out = self
            .client
            .modify_rule()
            .rule_arn(rule_arn)
            .set_conditions(Some(conditions.iter().map(condition_to_sdk).collect()))
            .actions(forward_to_sdk(forward))
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        out.rules().first().map(rule_from_sdk).ok_or_else(|| super::sdk_error::missing(OP, "Rules"))
    }

    async fn delete_rule(&self, rule_arn: &str) -> Result<(), AwsError> {
        self.client.delete_rule().rule_arn(rule_arn).send().await.map_err(|e| classify("DeleteRule", e))?;
        Ok(())
    }

    async fn set_rule_priorities(&self, priorities: &[(String, i32)]) -> Result<(), AwsError> {
        let pairs = priorities.iter().map(|(arn, p)| elb::types::RulePriorityPair::builder().rule_arn(arn).priority(*p).build()).collect();
        self.client.set_rule_priorities().set_rule_priorities(Some(pairs)).send().await.map_err(|e| classify("SetRulePriorities", e))?;
        Ok(())
    }

    async fn modify_listener_default(&self, listener_arn: &str, forward: &Forward) -> Result<(), AwsError> {
        self.client
            .modify_listener()
            .listener_arn(listener_arn)
            .default_actions(forward_to_sdk(forward))
            .send()
            .await
            .map_err(|e| classify("ModifyListener", e))?;
        Ok(())
    }

    async fn tag_rules(&self, rule_arns: &[String]) -> Result<(), AwsError> {
        // AddTags takes up to 20 resources; a canary has two rules.
        for chunk in rule_arns.chunks(20) {
            self.client
                .add_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .tags(managed_by_tag())
                .send()
                .await
                .map_err(|e| classify("AddTags", e))?;
        }
        Ok(())
    }
}
