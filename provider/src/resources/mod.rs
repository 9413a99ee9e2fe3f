//! Managed resources: the traffic switches.

pub mod common;
pub mod switch;

use std::sync::Arc;

use crate::resource::{Resource, ResourceAdapter};

pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![Arc::new(ResourceAdapter::<switch::SwitchResource>::new())]
}
