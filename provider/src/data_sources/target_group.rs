//! `bluegreen_target_group`: a target group with the live health of its targets.

use std::collections::BTreeMap;

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

/// Looks up a target group by `name` or `arn` and reports the live health of its targets — the number to watch
/// (and alarm on) when it drops below 1.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct TargetGroupModel {
    /// The target group's name. Set this or `arn`; reported either way.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::ELB_NAME), extend("x-computed" = true, "x-pattern-hint" = "be a target group name: 1-32 letters, digits and hyphens, not starting or ending with a hyphen"))]
    pub name: Val<String>,
    /// The target group's ARN. Set this or `name`; reported either way.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::TG_ARN), extend("x-computed" = true, "x-pattern-hint" = "be a target group ARN such as \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/legacy/0123456789abcdef\""))]
    pub arn: Val<String>,
    /// Port the targets receive traffic on (absent for Lambda targets).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub port: Val<i32>,
    /// `HTTP`, `HTTPS`, … (absent for Lambda targets).
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub protocol: Val<String>,
    /// `instance` (EC2), `ip` (ECS Fargate), `lambda` or `alb`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub target_type: Val<String>,
    /// Targets in state `healthy`, at read time.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub healthy_count: Val<u32>,
    /// Targets in state `unhealthy`, `unhealthy.draining` or `unavailable`, at read time.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub unhealthy_count: Val<u32>,
    /// All registered targets, whatever their state. The remainder after healthy and unhealthy is in `initial`, `draining` or `unused`: see `state_counts`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub total_count: Val<u32>,
    /// Number of targets in each health state AWS reported, e.g. `{ healthy = 2, initial = 1 }`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub state_counts: Val<BTreeMap<String, u32>>,
    /// Same as `arn`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
}

pub struct TargetGroupDataSource;

#[async_trait]
impl DataSourceImpl for TargetGroupDataSource {
    type Model = TargetGroupModel;
    const TYPE_NAME: &'static str = "bluegreen_target_group";

    fn validate(m: &TargetGroupModel, diags: &mut Diagnostics) {
        exactly_one_of(diags, "target group", &[("name", m.name.is_set()), ("arn", m.arn.is_set())]);
    }

    async fn read(ctx: &Ctx, mut m: TargetGroupModel) -> Result<TargetGroupModel, Diagnostics> {
        let (by, path) = match (m.arn.known(), m.name.known()) {
            (Some(arn), _) => (Selector::Arns(vec![arn.clone()]), "arn"),
            (None, Some(name)) => (Selector::Names(vec![name.clone()]), "name"),
            _ => unreachable!("validated: exactly one selector is set"),
        };
        let info = legacy::target_group(ctx.clients.elbv2.as_ref(), &by).await.map_err(|e| {
            let mut d = Diagnostics::new();
            report(&mut d, &e, Some(attr_path(&[path])), "Reading target group");
            d
        })?;
        let tg = info.target_group;
        m.id = Val::Known(tg.arn.clone());
        m.arn.fill(tg.arn);
        m.name.fill(tg.name);
        m.port = tg.port.into();
        m.protocol = Some(tg.protocol).filter(|p| !p.is_empty()).into();
        m.target_type = Val::Known(tg.target_type);
        m.healthy_count = Val::Known(info.health.healthy);
        m.unhealthy_count = Val::Known(info.health.unhealthy);
        m.total_count = Val::Known(info.health.total);
        m.state_counts = Val::Known(info.health.by_state);
        Ok(m)
    }
}
