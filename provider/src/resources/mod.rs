//! Managed resources: the traffic switches.

pub mod canary_listener;
pub mod common;
pub mod switch;

#[cfg(test)]
mod plan_pairs;

use std::sync::Arc;

use crate::resource::{Resource, ResourceAdapter};

pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![Arc::new(ResourceAdapter::<switch::SwitchResource>::new()), Arc::new(ResourceAdapter::<canary_listener::CanaryResource>::new())]
}
