//! The shape every managed resource has, and the adapter that turns the
//! protocol's dynamic values into a resource's typed model and back.
//!
//! Order of a resource file (as in terraform-provider-time): model, schema
//! docs on the model, validation, plan, create/update/delete, read, import.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use bluegreen_core::aws::AwsClients;
use bluegreen_core::zone::Zones;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::diag::Diagnostics;
use crate::schema::{self, Schema};
use crate::typed;
use crate::value::{Path, Value};

/// What a configured provider hands to resources.
#[derive(Clone)]
pub struct Ctx {
    pub clients: AwsClients,
    /// The per-zone Route 53 component, shared by every resource in this process.
    pub zones: Arc<Zones>,
    /// Cancelled when Terraform sends StopProvider.
    pub stop: CancellationToken,
}

/// A plan for one resource.
pub struct Planned<M> {
    pub model: M,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<Path>,
    pub diags: Diagnostics,
}

/// The result of an apply: the state to store (`None` = no object) and
/// what went wrong. On error the state is still the truth as read back.
pub struct Applied<M> {
    pub state: Option<M>,
    pub diags: Diagnostics,
}

#[async_trait]
pub trait ResourceImpl: Send + Sync + 'static {
    type Model: DeserializeOwned + Serialize + JsonSchema + Send + Sync + Clone;
    const TYPE_NAME: &'static str;

    /// Checks across attributes, beyond the schema's constraints. Unknown
    /// values are skipped. Must make no AWS call.
    fn validate(config: &Self::Model, diags: &mut Diagnostics);

    /// Plans a create (`prior` is `None`) or an update. `proposed` is
    /// Terraform's merge of configuration and prior state; only computed
    /// attributes may be changed. May read AWS (cheaply) for checks that
    /// need the real world.
    async fn plan(ctx: Option<&Ctx>, prior: Option<&Self::Model>, proposed: Self::Model) -> Planned<Self::Model>;

    async fn create(ctx: &Ctx, planned: Self::Model) -> Applied<Self::Model>;
    async fn update(ctx: &Ctx, prior: Self::Model, planned: Self::Model) -> Applied<Self::Model>;
    /// On refusal, returns the prior state (unchanged) with the error.
    async fn delete(ctx: &Ctx, prior: Self::Model) -> Applied<Self::Model>;
    /// `None` when the object is gone.
    async fn read(ctx: &Ctx, state: Self::Model) -> Applied<Self::Model>;
    async fn import(ctx: &Ctx, id: &str) -> Result<Self::Model, Diagnostics>;
}

/// Object-safe face of a resource, used by the server.
#[async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    /// The planned state and replace paths (`None` on error), with any warnings.
    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> (Option<(Value, Vec<Path>)>, Diagnostics);
    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics);
    async fn read(&self, ctx: &Ctx, state: &Value) -> (Value, Diagnostics);
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics>;
}

pub struct ResourceAdapter<R: ResourceImpl> {
    schema: Schema,
    _r: PhantomData<R>,
}

impl<R: ResourceImpl> ResourceAdapter<R> {
    pub fn new() -> Self {
        Self { schema: Schema::of::<R::Model>(0), _r: PhantomData }
    }

    fn decode(&self, v: &Value, what: &str) -> Result<R::Model, Diagnostics> {
        typed::decode::<R::Model>(v).map_err(|e| {
            let mut d = Diagnostics::new();
            d.bug(format!("{}: the {what} does not match the schema: {e}", R::TYPE_NAME));
            d
        })
    }

    fn encode(&self, m: &R::Model) -> Result<Value, Diagnostics> {
        typed::encode(m, &self.schema.implied_type()).map_err(|e| {
            let mut d = Diagnostics::new();
            d.bug(format!("{}: could not encode the state: {e}", R::TYPE_NAME));
            d
        })
    }

    fn finish(&self, applied: Applied<R::Model>) -> (Value, Diagnostics) {
        let mut diags = applied.diags;
        let value = match applied.state {
            None => Value::Null,
            Some(m) => match self.encode(&m) {
                Ok(v) => v,
                Err(d) => {
                    diags.extend(d);
                    Value::Null
                }
            },
        };
        (value, diags)
    }
}

impl<R: ResourceImpl> Default for ResourceAdapter<R> {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl<R: ResourceImpl> Resource for ResourceAdapter<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        schema::validate(&self.schema.block, config, &Path::default(), &mut diags);
        match self.decode(config, "configuration") {
            Ok(model) => {
                let mut own = Diagnostics::new();
                R::validate(&model, &mut own);
                diags.extend_unreported(own);
            }
            // A value outside the schema's constraints (reported above) may not fit the model's types.
            Err(_) if diags.has_errors() => {}
            Err(d) => diags.extend(d),
        }
        diags
    }

    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> (Option<(Value, Vec<Path>)>, Diagnostics) {
        // Destroy plans (only with the plan_destroy capability, not advertised).
        if proposed.is_null() {
            return (Some((Value::Null, Vec::new())), Diagnostics::new());
        }
        let mut diags = self.validate(config);
        if diags.has_errors() {
            return (None, diags);
        }
        // Terraform showed validation's warnings already (ValidateResourceConfig).
        diags.0.retain(|d| d.severity != crate::diag::Severity::Warning);
        let decoded = (|| -> Result<_, Diagnostics> {
            let prior = if prior.is_null() { None } else { Some(self.decode(prior, "prior state")?) };
            Ok((prior, self.decode(proposed, "proposed state")?))
        })();
        let (prior, proposed) = match decoded {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return (None, diags);
            }
        };
        let planned = R::plan(ctx, prior.as_ref(), proposed).await;
        diags.extend(planned.diags);
        if diags.has_errors() {
            return (None, diags);
        }
        match self.encode(&planned.model) {
            Ok(v) => (Some((v, planned.requires_replace)), diags),
            Err(d) => {
                diags.extend(d);
                (None, diags)
            }
        }
    }

    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
        let decoded = (|| -> Result<_, Diagnostics> {
            let prior = if prior.is_null() { None } else { Some(self.decode(prior, "prior state")?) };
            let planned = if planned.is_null() { None } else { Some(self.decode(planned, "planned state")?) };
            Ok((prior, planned))
        })();
        let (prior_m, planned_m) = match decoded {
            Ok(x) => x,
            Err(d) => return (prior.clone(), d),
        };
        let applied = match (prior_m, planned_m) {
            (None, Some(p)) => R::create(ctx, p).await,
            (Some(old), Some(p)) => R::update(ctx, old, p).await,
            (Some(old), None) => R::delete(ctx, old).await,
            (None, None) => Applied { state: None, diags: Diagnostics::new() },
        };
        self.finish(applied)
    }

    async fn read(&self, ctx: &Ctx, state: &Value) -> (Value, Diagnostics) {
        match self.decode(state, "stored state") {
            Ok(m) => self.finish(R::read(ctx, m).await),
            Err(d) => (state.clone(), d),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let m = R::import(ctx, id).await?;
        self.encode(&m)
    }
}
