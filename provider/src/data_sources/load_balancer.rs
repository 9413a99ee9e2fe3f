//! `bluegreen_load_balancer`: an application/network load balancer.

use async_trait::async_trait;
use bluegreen_core::aws::elbv2::Selector;
use bluegreen_core::legacy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{exactly_one_of, patterns};
use crate::data_source::DataSourceImpl;
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::Ctx;
use crate::typed::Val;

/// Looks up a load balancer — the legacy ALB in front of EC2, or the new one in front of ECS — by `name` or `arn`.
/// Its `dns_name` and `zone_id` are what an alias record pointing at it needs.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct LoadBalancerModel {
    /// The load balancer's name. Set this or `arn`; reported either way.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::ELB_NAME), extend("x-computed" = true, "x-pattern-hint" = "be a load balancer name: 1-32 letters, digits and hyphens, not starting or ending with a hyphen"))]
    pub name: Val<String>,
    /// The load balancer's ARN. Set this or `name`; reported either way.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::LB_ARN), extend("x-computed" = true, "x-pattern-hint" = "be a load balancer ARN such as \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/legacy/0123456789abcdef\""))]
    pub arn: Val<String>,
    /// The DNS name AWS assigned, e.g. `legacy-123.eu-west-1.elb.amazonaws.com`: the target of alias records and of `curl -k` checks.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub dns_name: Val<String>,
    /// The canonical hosted zone id of the load balancer, for `alias { zone_id = … }`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub zone_id: Val<String>,
    /// The VPC the load balancer lives in.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub vpc_id: Val<String>,
    /// `internet-facing` or `internal`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub scheme: Val<String>,
    /// ARNs of the load balancer's listeners, sorted.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub listener_arns: Val<Vec<String>>,
    /// Same as `arn`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
}

pub struct LoadBalancerDataSource;

#[async_trait]
impl DataSourceImpl for LoadBalancerDataSource {
    type Model = LoadBalancerModel;
    const TYPE_NAME: &'static str = "bluegreen_load_balancer";

    fn validate(m: &LoadBalancerModel, diags: &mut Diagnostics) {
        exactly_one_of(diags, "load balancer", &[("name", m.name.is_set()), ("arn", m.arn.is_set())]);
    }

    async fn read(ctx: &Ctx, mut m: LoadBalancerModel) -> Result<LoadBalancerModel, Diagnostics> {
        let (by, path) = match (m.arn.known(), m.name.known()) {
            (Some(arn), _) => (Selector::Arns(vec![arn.clone()]), "arn"),
            (None, Some(name)) => (Selector::Names(vec![name.clone()]), "name"),
            _ => unreachable!("validated: exactly one selector is set"),
        };
        let info = legacy::load_balancer(ctx.clients.elbv2.as_ref(), &by).await.map_err(|e| {
            let mut d = Diagnostics::new();
            report(&mut d, &e, Some(attr_path(&[path])), "Reading load balancer");
            d
        })?;
        let lb = info.load_balancer;
        m.id = Val::Known(lb.arn.clone());
        m.arn.fill(lb.arn);
        m.name.fill(lb.name);
        m.dns_name = Val::Known(lb.dns_name);
        m.zone_id = Val::Known(lb.canonical_hosted_zone_id);
        m.vpc_id = Val::Known(lb.vpc_id);
        m.scheme = Val::Known(lb.scheme);
        m.listener_arns = Val::Known(info.listener_arns);
        Ok(m)
    }
}
