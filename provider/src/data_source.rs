//! The shape every data source has: a typed model that is both its
//! configuration and its state, semantic checks beyond the schema, and a read.

use std::marker::PhantomData;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::diag::Diagnostics;
use crate::resource::Ctx;
use crate::schema::{self, Schema};
use crate::typed;
use crate::value::{Path, Value};

/// What a data source implements. The model type is the single source of the
/// schema, the validation and the docs.
#[async_trait]
pub trait DataSourceImpl: Send + Sync + 'static {
    type Model: DeserializeOwned + Serialize + JsonSchema + Send + Sync;
    const TYPE_NAME: &'static str;

    /// Checks that need several attributes at once (the schema's own
    /// constraints have already been checked). Must make no AWS call.
    fn validate(model: &Self::Model, diags: &mut Diagnostics);

    /// Looks the object up. The model is wholly known here: Terraform defers
    /// a data source whose configuration is not.
    async fn read(ctx: &Ctx, model: Self::Model) -> Result<Self::Model, Diagnostics>;
}

/// Object-safe face of a data source, used by the server.
#[async_trait]
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics>;
}

pub struct Adapter<D: DataSourceImpl> {
    schema: Schema,
    _d: PhantomData<D>,
}

impl<D: DataSourceImpl> Adapter<D> {
    pub fn new() -> Self {
        Self { schema: Schema::of::<D::Model>(0), _d: PhantomData }
    }
}

impl<D: DataSourceImpl> Default for Adapter<D> {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl<D: DataSourceImpl> DataSource for Adapter<D> {
    fn type_name(&self) -> &'static str {
        D::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        schema::validate(&self.schema.block, config, &Path::default(), &mut diags);
        match typed::decode::<D::Model>(config) {
            Ok(model) => {
                let mut own = Diagnostics::new();
                D::validate(&model, &mut own);
                diags.extend_unreported(own);
            }
            // A value outside the schema's constraints (reported above) may not fit the model's types.
            Err(_) if diags.has_errors() => {}
            Err(e) => diags.bug(format!("{}: configuration does not match the schema: {e}", D::TYPE_NAME)),
        }
        diags
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics> {
        let mut diags = self.validate(config);
        if diags.has_errors() {
            return Err(diags);
        }
        let model = typed::decode::<D::Model>(config).map_err(|e| {
            diags.bug(format!("{}: {e}", D::TYPE_NAME));
            diags.clone()
        })?;
        let out = D::read(ctx, model).await?;
        typed::encode(&out, &self.schema.implied_type()).map_err(|e| {
            let mut d = Diagnostics::new();
            d.bug(format!("{}: could not encode the result: {e}", D::TYPE_NAME));
            d
        })
    }
}
