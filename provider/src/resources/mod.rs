//! Managed resources: the traffic switches.

pub mod alias;
pub mod canary_listener;
pub mod common;
pub mod switch;

#[cfg(test)]
mod plan_pairs;

use std::sync::Arc;

use crate::resource::{Resource, ResourceAdapter};

/// The ALB canary's older type name, still served: the name the product was specified with. It has no `bluegreen_`
/// prefix, so Terraform (which takes a resource type's provider from the prefix before its first underscore) needs
/// `provider = bluegreen` on it; `bluegreen_canary_listener` needs none.
pub const CANARY_ALIAS: &str = "canary_listener";

/// Every served resource type. `canary_listener` is `bluegreen_canary_listener` under its older name
/// ([`alias::Alias`]): same schema, behaviour and claims.
pub fn all() -> Vec<Arc<dyn Resource>> {
    let canary: Arc<dyn Resource> = Arc::new(ResourceAdapter::<canary_listener::CanaryResource>::new());
    vec![Arc::new(ResourceAdapter::<switch::SwitchResource>::new()), Arc::new(alias::Alias::new(CANARY_ALIAS, canary.clone())), canary]
}
