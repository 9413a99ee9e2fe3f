//! A resource served under a second type name. `canary_listener` (the name the
//! product was specified with) is `bluegreen_canary_listener` under its older
//! name: one implementation, one schema, one claims registry (the process's
//! [`crate::claims::Claims`] in [`Ctx`]), so a `canary_listener` and a
//! `bluegreen_canary_listener` on one listener priority are refused like two
//! of either. Terraform ≥ 1.8 moves state between the names with a `moved`
//! block (MoveResourceState, no AWS call).

use std::sync::Arc;

use async_trait::async_trait;

use crate::diag::Diagnostics;
use crate::resource::{Ctx, Plan, Resource};
use crate::schema::Schema;
use crate::value::{Path, Value};

/// `inner` served as `name`.
pub struct Alias {
    name: &'static str,
    inner: Arc<dyn Resource>,
}

impl Alias {
    pub fn new(name: &'static str, inner: Arc<dyn Resource>) -> Self {
        Self { name, inner }
    }
}

#[async_trait]
impl Resource for Alias {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn alias_of(&self) -> Option<&'static str> {
        Some(self.inner.type_name())
    }
    fn schema(&self) -> &Schema {
        self.inner.schema()
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        self.inner.validate(config)
    }
    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, config: &Value, prior_private: &[u8]) -> (Option<Plan>, Diagnostics) {
        self.inner.plan(ctx, prior, config, prior_private).await
    }
    fn upgrade(&self, state: Value) -> Value {
        self.inner.upgrade(state)
    }
    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value, planned_private: &[u8]) -> (Value, Vec<u8>, Diagnostics) {
        self.inner.apply(ctx, prior, planned, planned_private).await
    }
    async fn read(&self, ctx: &Ctx, state: &Value, private: &[u8]) -> (Value, Vec<u8>, Diagnostics) {
        self.inner.read(ctx, state, private).await
    }
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<(Value, Vec<u8>), Diagnostics> {
        self.inner.import(ctx, id).await
    }
    async fn attributes_forcing_replacement(&self) -> Result<Vec<Path>, String> {
        self.inner.attributes_forcing_replacement().await
    }
}
