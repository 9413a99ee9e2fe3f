//! `bluegreen_listener`: a load balancer listener.

use async_trait::async_trait;
use bluegreen_core::legacy::{self, ListenerQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;
use crate::data_source::DataSourceImpl;
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::Ctx;
use crate::typed::Val;

/// Looks up a listener — typically the legacy ALB's HTTPS listener that a `bluegreen_canary_listener` adds its rules to —
/// by `arn`, or by `load_balancer_arn` and `port`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ListenerModel {
    /// The listener's ARN. Set this, or `load_balancer_arn` with `port`; reported either way.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::LISTENER_ARN), extend("x-computed" = true, "x-pattern-hint" = "be a listener ARN such as \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/legacy/0123456789abcdef/0123456789abcdef\""))]
    pub arn: Val<String>,
    /// ARN of the load balancer whose listener on `port` to read.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::LB_ARN), extend("x-computed" = true, "x-pattern-hint" = "be a load balancer ARN"))]
    pub load_balancer_arn: Val<String>,
    /// With `load_balancer_arn`: the listener's port, 1–65535.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535), extend("x-computed" = true))]
    pub port: Val<i32>,
    /// `HTTP`, `HTTPS`, `TCP`, …
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub protocol: Val<String>,
    /// Target groups the listener's default action forwards to.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub default_target_group_arns: Val<Vec<String>>,
    /// Same as `arn`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
}

pub struct ListenerDataSource;

#[async_trait]
impl DataSourceImpl for ListenerDataSource {
    type Model = ListenerModel;
    const TYPE_NAME: &'static str = "bluegreen_listener";

    fn validate(m: &ListenerModel, diags: &mut Diagnostics) {
        let by_lb = m.load_balancer_arn.is_set() || m.port.is_set();
        super::exactly_one_of(diags, "listener", &[("arn", m.arn.is_set()), ("load_balancer_arn", by_lb)]);
        if m.arn.is_null() {
            if m.load_balancer_arn.is_set() && m.port.is_null() {
                diags.error_at(
                    attr_path(&["load_balancer_arn"]),
                    "Missing port",
                    "With load_balancer_arn, set port to say which of its listeners to read.",
                );
            }
            if m.port.is_set() && m.load_balancer_arn.is_null() {
                diags.error_at(
                    attr_path(&["port"]),
                    "Missing load_balancer_arn",
                    "port selects a listener of the load balancer named by load_balancer_arn; set it too.",
                );
            }
        }
    }

    async fn read(ctx: &Ctx, mut m: ListenerModel) -> Result<ListenerModel, Diagnostics> {
        let (query, path) = match (m.arn.known(), m.load_balancer_arn.known(), m.port.known()) {
            (Some(arn), _, _) => (ListenerQuery::Arn(arn.clone()), "arn"),
            (None, Some(lb), Some(port)) => (ListenerQuery::Port { load_balancer_arn: lb.clone(), port: *port }, "port"),
            _ => unreachable!("validated: a selector is set"),
        };
        let l = legacy::listener(ctx.clients.elbv2.as_ref(), &query).await.map_err(|e| {
            let mut d = Diagnostics::new();
            report(&mut d, &e, Some(attr_path(&[path])), "Reading listener");
            d
        })?;
        m.default_target_group_arns = Val::Known(l.default_target_group_arns());
        m.id = Val::Known(l.arn.clone());
        m.arn.fill(l.arn);
        m.load_balancer_arn.fill(l.load_balancer_arn);
        if let Some(p) = l.port {
            m.port.fill(p);
        }
        m.protocol = Val::Known(l.protocol);
        Ok(m)
    }
}
