//! The `tfplugin6.Provider` service: decodes each request, hands it to the
//! provider configuration, a data source or a resource, and encodes the
//! answer. Nothing here knows about cutovers.

use std::collections::BTreeMap;
use std::sync::Arc;

use bluegreen_core::aws::{self, AwsClients};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::config::ProviderConfig;
use crate::data_source::DataSource;
use crate::diag::Diagnostics;
use crate::errors::report;
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider;
use crate::schema::{self, Schema};
use crate::tf::{decode_dynamic, diagnostics_to_proto, encode_dynamic, schema_to_proto};
use crate::typed;
use crate::value::Path;

/// One provider process's state. Terraform starts a fresh process for each
/// phase (validate, plan, apply), so nothing here outlives one command.
pub struct BlueGreenProvider {
    provider_schema: Schema,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
    clients: RwLock<Option<AwsClients>>,
    /// Cancelled by StopProvider (Ctrl-C in Terraform); long waits select on it.
    stop: CancellationToken,
}

impl Default for BlueGreenProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl BlueGreenProvider {
    pub fn new() -> Self {
        Self {
            provider_schema: Schema::of::<ProviderConfig>(0),
            data_sources: crate::data_sources::all().into_iter().map(|d| (d.type_name(), d)).collect(),
            clients: RwLock::new(None),
            stop: CancellationToken::new(),
        }
    }

    /// A provider already configured with the given clients (tests use fakes).
    pub fn with_clients(clients: AwsClients) -> Self {
        let p = Self::new();
        *p.clients.try_write().expect("fresh lock") = Some(clients);
        p
    }

    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub fn provider_schema(&self) -> &Schema {
        &self.provider_schema
    }

    pub fn data_sources(&self) -> impl Iterator<Item = &Arc<dyn DataSource>> {
        self.data_sources.values()
    }

    fn data_source(&self, name: &str) -> Result<&Arc<dyn DataSource>, Diagnostics> {
        self.data_sources.get(name).ok_or_else(|| {
            let mut d = Diagnostics::new();
            d.bug(format!("unknown data source type {name:?}"));
            d
        })
    }

    async fn configured_clients(&self) -> Result<AwsClients, Diagnostics> {
        self.clients.read().await.clone().ok_or_else(|| {
            let mut d = Diagnostics::new();
            d.bug("the provider was used before ConfigureProvider");
            d
        })
    }

    fn validate_provider_config_value(&self, config: &crate::value::Value) -> (Option<ProviderConfig>, Diagnostics) {
        let mut diags = Diagnostics::new();
        schema::validate(&self.provider_schema.block, config, &Path::default(), &mut diags);
        match typed::decode::<ProviderConfig>(config) {
            Ok(c) => {
                c.validate(&mut diags);
                (Some(c), diags)
            }
            Err(e) => {
                diags.bug(format!("provider configuration does not match the schema: {e}"));
                (None, diags)
            }
        }
    }
}

fn merge<T>(r: Result<T, Diagnostics>, diags: &mut Diagnostics) -> Option<T> {
    match r {
        Ok(t) => Some(t),
        Err(d) => {
            diags.extend(d);
            None
        }
    }
}

#[tonic::async_trait]
impl Provider for BlueGreenProvider {
    async fn get_metadata(&self, _req: Request<pb::get_metadata::Request>) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(pb::ServerCapabilities::default()),
            data_sources: self.data_sources.keys().map(|n| pb::get_metadata::DataSourceMetadata { type_name: (*n).to_string() }).collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&self.provider_schema)),
            data_source_schemas: self.data_sources.iter().map(|(n, d)| ((*n).to_string(), schema_to_proto(d.schema()))).collect(),
            server_capabilities: Some(pb::ServerCapabilities::default()),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        if let Some(config) =
            merge(decode_dynamic(req.config.as_ref(), &self.provider_schema.implied_type(), "provider configuration"), &mut diags)
        {
            diags.extend(self.validate_provider_config_value(&config).1);
        }
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics: diagnostics_to_proto(&diags) }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let config = merge(decode_dynamic(req.config.as_ref(), &self.provider_schema.implied_type(), "provider configuration"), &mut diags);
        if let Some(config) = config {
            let (model, d) = self.validate_provider_config_value(&config);
            diags.extend(d);
            if let (Some(model), false) = (model, diags.has_errors()) {
                let settings = model.to_settings(&mut diags);
                if !diags.has_errors() {
                    tracing::debug!(terraform_version = %req.terraform_version, region = ?settings.region, profile = ?settings.profile, "configuring AWS clients");
                    match aws::connect(&settings).await {
                        Ok(clients) => *self.clients.write().await = Some(clients),
                        Err(e) => report(&mut diags, &e, None, "Configuring the provider"),
                    }
                }
            }
        }
        Ok(Response::new(pb::configure_provider::Response { diagnostics: diagnostics_to_proto(&diags) }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        if let Some(ds) = merge(self.data_source(&req.type_name), &mut diags) {
            if let Some(config) = merge(decode_dynamic(req.config.as_ref(), &ds.schema().implied_type(), "configuration"), &mut diags) {
                diags.extend(ds.validate(&config));
            }
        }
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: diagnostics_to_proto(&diags) }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut state = None;
        if let Some(ds) = merge(self.data_source(&req.type_name), &mut diags) {
            let ty = ds.schema().implied_type();
            let config = merge(decode_dynamic(req.config.as_ref(), &ty, "configuration"), &mut diags);
            let clients = merge(self.configured_clients().await, &mut diags);
            if let (Some(config), Some(clients)) = (config, clients) {
                tracing::debug!(data_source = %req.type_name, "reading data source");
                if let Some(value) = merge(ds.read(&clients, &config).await, &mut diags) {
                    state = merge(encode_dynamic(&value, &ty), &mut diags);
                }
            }
        }
        Ok(Response::new(pb::read_data_source::Response { state, diagnostics: diagnostics_to_proto(&diags), deferred: None }))
    }

    async fn stop_provider(&self, _req: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("StopProvider received: cancelling in-flight waits");
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}
