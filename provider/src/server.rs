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
use crate::resource::{Ctx, Resource};
use crate::schema::{self, Schema};
use crate::tf::{decode_dynamic, diagnostics_to_proto, encode_dynamic, schema_to_proto};
use crate::typed;
use crate::value::Path;

/// One provider process's state. Terraform starts a fresh process for each
/// phase (validate, plan, apply), so nothing here outlives one command.
pub struct BlueGreenProvider {
    provider_schema: Schema,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    /// Set by ConfigureProvider.
    ctx: RwLock<Option<Ctx>>,
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
            resources: crate::resources::all().into_iter().map(|r| (r.type_name(), r)).collect(),
            ctx: RwLock::new(None),
            stop: CancellationToken::new(),
        }
    }

    /// A provider already configured with the given clients (tests use fakes).
    pub fn with_clients(clients: AwsClients) -> Self {
        let p = Self::new();
        let ctx = p.make_ctx(clients);
        *p.ctx.try_write().expect("fresh lock") = Some(ctx);
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

    pub fn resources(&self) -> impl Iterator<Item = &Arc<dyn Resource>> {
        self.resources.values()
    }

    fn make_ctx(&self, clients: AwsClients) -> Ctx {
        Ctx {
            zones: Arc::new(bluegreen_core::zone::Zones::new(clients.route53.clone())),
            clients,
            stop: self.stop.clone(),
            claims: Default::default(),
        }
    }

    fn resource(&self, name: &str) -> Result<&Arc<dyn Resource>, Diagnostics> {
        self.resources.get(name).ok_or_else(|| {
            let mut d = Diagnostics::new();
            d.bug(format!("unknown resource type {name:?}"));
            d
        })
    }

    fn data_source(&self, name: &str) -> Result<&Arc<dyn DataSource>, Diagnostics> {
        self.data_sources.get(name).ok_or_else(|| {
            let mut d = Diagnostics::new();
            d.bug(format!("unknown data source type {name:?}"));
            d
        })
    }

    async fn configured(&self) -> Result<Ctx, Diagnostics> {
        self.ctx.read().await.clone().ok_or_else(|| {
            let mut d = Diagnostics::new();
            d.bug("the provider was used before ConfigureProvider");
            d
        })
    }

    /// The string import id an identity names (import by identity, Terraform ≥ 1.12).
    fn import_id_of_identity(&self, type_name: &str, data: &pb::DynamicValue) -> Result<String, Diagnostics> {
        let Some(def) = crate::identity::of(type_name) else {
            let mut d = Diagnostics::new();
            d.error("Import by identity not supported", format!("{type_name} has no resource identity; import it by id."));
            return Err(d);
        };
        let identity = decode_dynamic(Some(data), &def.implied_type(), "import identity")?;
        def.import_id(type_name, &identity)
    }

    /// An action's configuration, decoded and validated; unknown values are an error only when invoking.
    fn action_config(
        &self,
        type_name: &str,
        config: Option<&pb::DynamicValue>,
        invoking: bool,
    ) -> (Option<crate::action::GateCheckConfig>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some((_, schema)) = crate::action::schemas().into_iter().find(|(n, _)| *n == type_name) else {
            diags.bug(format!("unknown action type {type_name:?}"));
            return (None, diags);
        };
        let Some(config) = merge(decode_dynamic(config, &schema.implied_type(), "action configuration"), &mut diags) else {
            return (None, diags);
        };
        let (c, d) = crate::action::validate(&schema, &config);
        diags.extend(d);
        if invoking && !crate::identity::wholly_known(&config) {
            diags.error(
                "Gate check configuration not known",
                "A value of the gate check's configuration is known only after an apply (a resource not created yet, or \
                 changing in this run); invoke the action after that apply.",
            );
        }
        (c, diags)
    }

    fn validate_provider_config_value(&self, config: &crate::value::Value) -> (Option<ProviderConfig>, Diagnostics) {
        let mut diags = Diagnostics::new();
        schema::validate(&self.provider_schema.block, config, &Path::default(), &mut diags);
        match typed::decode::<ProviderConfig>(config) {
            Ok(c) => {
                c.validate(&mut diags);
                (Some(c), diags)
            }
            // A value outside the schema's constraints (reported above) may not fit the model's types.
            Err(_) if diags.has_errors() => (None, diags),
            Err(e) => {
                diags.bug(format!("provider configuration does not match the schema: {e}"));
                (None, diags)
            }
        }
    }
}

/// What this server implements beyond the classic RPCs. `plan_destroy`:
/// Terraform ≥ 1.3 calls PlanResourceChange for destroys, so a destroy that
/// apply would refuse is refused in the plan, before anything is touched.
/// `move_resource_state`: Terraform ≥ 1.8 moves state across resource types
/// (`moved { from = canary_listener.x  to = bluegreen_canary_listener.x }`).
/// `generate_resource_config`: Terraform ≥ 1.14 asks the provider for the
/// configuration it generates (`-generate-config-out`), see
/// [`crate::list::config_from_state`].
fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities { plan_destroy: true, move_resource_state: true, generate_resource_config: true, ..Default::default() }
}

/// The identity of `state` of a resource type, as the protocol carries it (Terraform ≥ 1.12; older versions ignore
/// the field). `None` for a type without identity or no object.
fn identity_data(type_name: &str, state: &crate::value::Value, diags: &mut Diagnostics) -> Option<pb::ResourceIdentityData> {
    identity_value(type_name, state).and_then(|(def, v)| encode_identity(def, &v, diags))
}

fn identity_value(type_name: &str, state: &crate::value::Value) -> Option<(&'static crate::identity::IdentityDef, crate::value::Value)> {
    let def = crate::identity::of(type_name)?;
    let v = def.from_state(state);
    (!v.is_null()).then_some((def, v))
}

fn encode_identity(
    def: &crate::identity::IdentityDef,
    v: &crate::value::Value,
    diags: &mut Diagnostics,
) -> Option<pb::ResourceIdentityData> {
    merge(encode_dynamic(v, &def.implied_type()), diags).map(|d| pb::ResourceIdentityData { identity_data: Some(d) })
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
            server_capabilities: Some(capabilities()),
            data_sources: self.data_sources.keys().map(|n| pb::get_metadata::DataSourceMetadata { type_name: (*n).to_string() }).collect(),
            resources: self.resources.keys().map(|n| pb::get_metadata::ResourceMetadata { type_name: (*n).to_string() }).collect(),
            list_resources: crate::list::schemas()
                .into_iter()
                .map(|(n, _)| pb::get_metadata::ListResourceMetadata { type_name: n.to_string() })
                .collect(),
            actions: crate::action::schemas()
                .into_iter()
                .map(|(n, _)| pb::get_metadata::ActionMetadata { type_name: n.to_string() })
                .collect(),
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
            resource_schemas: self.resources.iter().map(|(n, r)| ((*n).to_string(), schema_to_proto(r.schema()))).collect(),
            list_resource_schemas: crate::list::schemas().iter().map(|(n, s)| ((*n).to_string(), schema_to_proto(s))).collect(),
            action_schemas: crate::action::schemas()
                .iter()
                .map(|(n, s)| ((*n).to_string(), pb::ActionSchema { schema: Some(schema_to_proto(s)) }))
                .collect(),
            server_capabilities: Some(capabilities()),
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
                    tracing::debug!(
                        terraform_version = %req.terraform_version,
                        region = settings.region.as_deref().unwrap_or("(AWS chain)"),
                        profile = settings.profile.as_deref().unwrap_or("(AWS chain)"),
                        "configuring AWS clients"
                    );
                    match aws::connect(&settings, self.stop.clone()).await {
                        Ok(clients) => *self.ctx.write().await = Some(self.make_ctx(clients)),
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
            let ctx = merge(self.configured().await, &mut diags);
            if let (Some(config), Some(ctx)) = (config, ctx) {
                tracing::debug!(data_source = %req.type_name, "reading data source");
                if let Some(value) = merge(ds.read(&ctx, &config).await, &mut diags) {
                    state = merge(encode_dynamic(&value, &ty), &mut diags);
                }
            }
        }
        Ok(Response::new(pb::read_data_source::Response { state, diagnostics: diagnostics_to_proto(&diags), deferred: None }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            if let Some(config) = merge(decode_dynamic(req.config.as_ref(), &r.schema().implied_type(), "configuration"), &mut diags) {
                let mut own = r.validate(&config);
                // Terraform validates a resource in its validate walk (the provider not configured), then again in the
                // plan and apply walks (configured); a warning from each would be shown three times per apply. The
                // validate walk's is the one: warnings from a configured provider's validation are dropped.
                if self.ctx.read().await.is_some() {
                    own.0.retain(|d| d.severity != crate::diag::Severity::Warning);
                }
                diags.extend(own);
            }
        }
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics: diagnostics_to_proto(&diags) }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut upgraded = None;
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            let ty = r.schema().implied_type();
            match req.raw_state.as_ref().map(|s| s.json.as_slice()).filter(|j| !j.is_empty()) {
                Some(json) => {
                    // Stored state may hold attributes an older version wrote; they are dropped.
                    let opts = crate::value::json::DecodeOptions { ignore_undefined_attributes: true };
                    match crate::value::json::decode_with(json, &ty, opts) {
                        Ok(v) => upgraded = merge(encode_dynamic(&r.upgrade(v), &ty), &mut diags),
                        Err(e) => diags.error(
                            "Unreadable stored state",
                            format!("The state of this {} could not be read ({e}). Remove it with `terraform state rm` and import it again.", req.type_name),
                        ),
                    }
                }
                None => diags.error(
                    "Unsupported stored state",
                    format!("The state of this {} is in the legacy flatmap format, which this provider never wrote. Remove it with `terraform state rm` and import it.", req.type_name),
                ),
            }
        }
        Ok(Response::new(pb::upgrade_resource_state::Response { upgraded_state: upgraded, diagnostics: diagnostics_to_proto(&diags) }))
    }

    async fn read_resource(&self, req: Request<pb::read_resource::Request>) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut new_state = req.current_state.clone();
        let mut private = req.private.clone();
        let mut new_identity = req.current_identity.clone();
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            let ty = r.schema().implied_type();
            let state = merge(decode_dynamic(req.current_state.as_ref(), &ty, "state"), &mut diags);
            let ctx = merge(self.configured().await, &mut diags);
            if let (Some(state), Some(ctx)) = (state, ctx) {
                let (v, p, d) = r.read(&ctx, &state, &req.private).await;
                diags.extend(d);
                private = p;
                new_state = merge(encode_dynamic(&v, &ty), &mut diags).or(new_state);
                new_identity = identity_data(&req.type_name, &v, &mut diags);
            }
        }
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diagnostics_to_proto(&diags),
            private,
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut planned_state = None;
        let mut requires_replace = Vec::new();
        let mut planned_private = req.prior_private.clone();
        let mut planned_identity = None;
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            let ty = r.schema().implied_type();
            // proposed_new_state is not read: the plan is built from the configuration and the prior state.
            let prior = merge(decode_dynamic(req.prior_state.as_ref(), &ty, "prior state"), &mut diags);
            let config = merge(decode_dynamic(req.config.as_ref(), &ty, "configuration"), &mut diags);
            if let (Some(prior), Some(config)) = (prior, config) {
                let ctx = self.ctx.read().await.clone();
                let (planned, d) = r.plan(ctx.as_ref(), &prior, &config, &req.prior_private).await;
                diags.extend(d);
                if let Some(plan) = planned {
                    planned_state = merge(encode_dynamic(&plan.planned, &ty), &mut diags);
                    requires_replace = plan.requires_replace.iter().map(crate::tf::path_to_proto).collect();
                    planned_private = plan.private;
                    // A planned identity must be wholly known: Terraform refuses an unknown one for an update, and
                    // cannot show a plan holding one even for a create ("Failed to marshal plan to json: value is not
                    // known"). An update whose identity the apply computes anew (a canary rule recreated after it was
                    // deleted outside Terraform) keeps the prior identity until then; a create or replacement whose
                    // identity is not known yet plans none, and its apply returns it.
                    planned_identity = identity_value(&req.type_name, &plan.planned).and_then(|(def, v)| {
                        let v = if crate::identity::wholly_known(&v) {
                            v
                        } else if !prior.is_null() && plan.requires_replace.is_empty() {
                            def.from_state(&prior)
                        } else {
                            return None;
                        };
                        encode_identity(def, &v, &mut diags)
                    });
                }
            }
        }
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace,
            planned_private,
            diagnostics: diagnostics_to_proto(&diags),
            planned_identity,
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut new_state = req.prior_state.clone();
        let mut private = req.planned_private.clone();
        let mut new_identity = None;
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            let ty = r.schema().implied_type();
            let prior = merge(decode_dynamic(req.prior_state.as_ref(), &ty, "prior state"), &mut diags);
            let planned = merge(decode_dynamic(req.planned_state.as_ref(), &ty, "planned state"), &mut diags);
            let ctx = merge(self.configured().await, &mut diags);
            if let (Some(prior), Some(planned), Some(ctx)) = (prior, planned, ctx) {
                tracing::info!(resource = %req.type_name, create = prior.is_null(), destroy = planned.is_null(), "applying");
                let (v, p, d) = r.apply(&ctx, &prior, &planned, &req.planned_private).await;
                diags.extend(d);
                private = p;
                new_state = merge(encode_dynamic(&v, &ty), &mut diags).or(new_state);
                new_identity = identity_data(&req.type_name, &v, &mut diags);
            }
        }
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics: diagnostics_to_proto(&diags),
            new_identity,
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut imported = Vec::new();
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            let ty = r.schema().implied_type();
            // Terraform ≥ 1.12 imports by identity (`import { identity = { … } }`): the id the identity spells.
            let id = match req.identity.as_ref().and_then(|i| i.identity_data.as_ref()) {
                Some(data) if req.id.is_empty() => self.import_id_of_identity(&req.type_name, data),
                _ => Ok(req.id.clone()),
            };
            let ctx = merge(self.configured().await, &mut diags);
            if let (Some(id), Some(ctx)) = (merge(id, &mut diags), ctx) {
                if let Some((v, private)) = merge(r.import(&ctx, &id).await, &mut diags) {
                    let identity = identity_data(&req.type_name, &v, &mut diags);
                    if let Some(state) = merge(encode_dynamic(&v, &ty), &mut diags) {
                        imported.push(pb::import_resource_state::ImportedResource {
                            type_name: req.type_name.clone(),
                            state: Some(state),
                            private,
                            identity,
                        });
                    }
                }
            }
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diagnostics_to_proto(&diags),
            deferred: None,
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .resources
                .keys()
                .filter_map(|n| crate::identity::of(n).map(|def| ((*n).to_string(), def.to_proto())))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut upgraded = None;
        match crate::identity::of(&req.type_name) {
            None => diags.bug(format!("{} has no resource identity to upgrade", req.type_name)),
            Some(def) if req.version > def.version => diags.error(
                "Resource identity from a newer provider",
                format!(
                    "The stored identity of this {} has version {}, newer than this provider's {}. Use the provider version that wrote it.",
                    req.type_name, req.version, def.version
                ),
            ),
            Some(def) => {
                // Version 0 is the only version so far: the stored JSON is read as it is (attributes this version
                // does not know are dropped).
                let json = req.raw_identity.as_ref().map(|s| s.json.as_slice()).unwrap_or_default();
                let opts = crate::value::json::DecodeOptions { ignore_undefined_attributes: true };
                match crate::value::json::decode_with(json, &def.implied_type(), opts) {
                    Ok(v) => upgraded = encode_identity(def, &v, &mut diags),
                    Err(e) => diags.error(
                        "Unreadable stored identity",
                        format!(
                            "The identity of this {} could not be read ({e}). Remove it with `terraform state rm` and import it again.",
                            req.type_name
                        ),
                    ),
                }
            }
        }
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: upgraded,
            diagnostics: diagnostics_to_proto(&diags),
        }))
    }

    /// `moved` across resource types (Terraform ≥ 1.8): between names of one implementation only
    /// (`canary_listener` ⇄ `bluegreen_canary_listener`). The stored state is taken over as it is; nothing is read from
    /// AWS and the provider need not be configured.
    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut target_state = None;
        let mut target_identity = None;
        let canonical = |r: &Arc<dyn Resource>| r.alias_of().unwrap_or(r.type_name());
        let source = self.resources.get(req.source_type_name.as_str());
        let from_here = req.source_provider_address.ends_with("cutover/bluegreen");
        if let Some(target) = merge(self.resource(&req.target_type_name), &mut diags) {
            match source {
                Some(source) if from_here && canonical(source) == canonical(target) => {
                    let ty = target.schema().implied_type();
                    let json = req.source_state.as_ref().map(|s| s.json.as_slice()).unwrap_or_default();
                    let opts = crate::value::json::DecodeOptions { ignore_undefined_attributes: true };
                    if req.source_schema_version > target.schema().version {
                        diags.error(
                            "State from a newer provider",
                            format!(
                                "The state of {} has schema version {}, newer than this provider's {}.",
                                req.source_type_name,
                                req.source_schema_version,
                                target.schema().version
                            ),
                        );
                    } else {
                        match crate::value::json::decode_with(json, &ty, opts) {
                            Ok(v) => {
                                let v = target.upgrade(v);
                                target_state = merge(encode_dynamic(&v, &ty), &mut diags);
                                target_identity = identity_data(&req.target_type_name, &v, &mut diags);
                            }
                            Err(e) => diags.error(
                                "Unreadable stored state",
                                format!("The state of this {} could not be read ({e}).", req.source_type_name),
                            ),
                        }
                    }
                }
                _ => diags.error(
                    "Unsupported move",
                    format!(
                        "{} can be moved here only from another name of the same resource ({}); not from {} of {}. Remove the \
                         old object from the state (`terraform state rm`) and import it as {}.",
                        req.target_type_name,
                        self.resources
                            .values()
                            .filter(|r| canonical(r) == canonical(target))
                            .map(|r| r.type_name())
                            .collect::<Vec<_>>()
                            .join(", "),
                        req.source_type_name,
                        req.source_provider_address,
                        req.target_type_name
                    ),
                ),
            }
        }
        let moved = !diags.has_errors();
        Ok(Response::new(pb::move_resource_state::Response {
            target_state,
            diagnostics: diagnostics_to_proto(&diags),
            target_private: if moved { req.source_private } else { Vec::new() },
            target_identity,
        }))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        match crate::list::schemas().into_iter().find(|(n, _)| *n == req.type_name) {
            None => diags.bug(format!("unknown list resource type {:?}", req.type_name)),
            Some((_, schema)) => {
                if let Some(config) = merge(decode_dynamic(req.config.as_ref(), &schema.implied_type(), "list configuration"), &mut diags) {
                    diags.extend(crate::list::validate(&req.type_name, &schema, &config));
                }
            }
        }
        Ok(Response::new(pb::validate_list_resource_config::Response { diagnostics: diagnostics_to_proto(&diags) }))
    }

    /// `list` blocks of `terraform query` (Terraform ≥ 1.14): one AWS read finds the candidates; each resource object
    /// is read (as an import by id reads it) only when the stream reaches it, so a stream stopped at `limit`, or
    /// dropped by Terraform, makes no further call.
    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> Result<Response<crate::proto::BoxStream<pb::list_resource::Event>>, Status> {
        use futures::StreamExt;
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let failed = |diags: Diagnostics| -> Result<Response<crate::proto::BoxStream<pb::list_resource::Event>>, Status> {
            let event = pb::list_resource::Event { diagnostic: diagnostics_to_proto(&diags), ..Default::default() };
            Ok(Response::new(Box::pin(futures::stream::iter([Ok(event)]))))
        };
        let Some((_, schema)) = crate::list::schemas().into_iter().find(|(n, _)| *n == req.type_name) else {
            diags.bug(format!("unknown list resource type {:?}", req.type_name));
            return failed(diags);
        };
        let (Some(config), Some(resource), Some(def)) = (
            merge(decode_dynamic(req.config.as_ref(), &schema.implied_type(), "list configuration"), &mut diags),
            merge(self.resource(&req.type_name).cloned(), &mut diags),
            crate::identity::of(&req.type_name),
        ) else {
            return failed(diags);
        };
        diags.extend(crate::list::validate(&req.type_name, &schema, &config));
        if diags.has_errors() {
            return failed(diags);
        }
        let Some(ctx) = merge(self.configured().await, &mut diags) else { return failed(diags) };
        let found = match crate::list::find(&ctx, &req.type_name, &config).await {
            Ok(found) => found,
            Err(d) => return failed(d),
        };
        let limit = usize::try_from(req.limit).ok().filter(|l| *l > 0).unwrap_or(usize::MAX);
        let include = req.include_resource_object;
        let ty = resource.schema().implied_type();
        tracing::debug!(list = %req.type_name, found = found.len(), limit, include, "listing");
        let stream = futures::stream::iter(found.into_iter().take(limit)).then(move |f| {
            let (ctx, resource, ty) = (ctx.clone(), resource.clone(), ty.clone());
            async move {
                let mut diags = Diagnostics::new();
                let mut event = pb::list_resource::Event {
                    identity: encode_identity(def, &f.identity, &mut diags),
                    display_name: f.display_name.clone(),
                    ..Default::default()
                };
                if include {
                    match resource.import(&ctx, &f.import_id).await {
                        Ok((v, _)) => event.resource_object = merge(encode_dynamic(&v, &ty), &mut diags),
                        // Gone or changed since the listing: said, and left out (an event with a warning and no
                        // identity is skipped by Terraform).
                        Err(d) => {
                            let why = d.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect::<Vec<_>>().join("; ");
                            diags.warning("Not listed", format!("{} ({}) could not be read: {why}", f.display_name, f.import_id));
                            event.identity = None;
                        }
                    }
                }
                event.diagnostic = diagnostics_to_proto(&diags);
                Ok(event)
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    /// `-generate-config-out` (Terraform ≥ 1.14): configuration without what the provider computes or defaults.
    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut config = None;
        if let Some(r) = merge(self.resource(&req.type_name), &mut diags) {
            let ty = r.schema().implied_type();
            if let Some(state) = merge(decode_dynamic(req.state.as_ref(), &ty, "state"), &mut diags) {
                config = merge(encode_dynamic(&crate::list::config_from_state(&r.schema().block, &state), &ty), &mut diags);
            }
        }
        Ok(Response::new(pb::generate_resource_config::Response { config, diagnostics: diagnostics_to_proto(&diags) }))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let req = req.into_inner();
        let (_, diags) = self.action_config(&req.type_name, req.config.as_ref(), false);
        Ok(Response::new(pb::validate_action_config::Response { diagnostics: diagnostics_to_proto(&diags) }))
    }

    /// Nothing to plan: the action changes nothing. The configuration is checked again (values unknown at validate
    /// may be known now).
    async fn plan_action(&self, req: Request<pb::plan_action::Request>) -> Result<Response<pb::plan_action::Response>, Status> {
        let req = req.into_inner();
        let (_, diags) = self.action_config(&req.action_type, req.config.as_ref(), false);
        Ok(Response::new(pb::plan_action::Response { diagnostics: diagnostics_to_proto(&diags), deferred: None }))
    }

    /// `terraform apply -invoke=action.bluegreen_gate_check.x`: one Progress event per verdict, then Completed with
    /// an error when the gate fails (a warning when only "now" could be judged). Reads only.
    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> Result<Response<crate::proto::BoxStream<pb::invoke_action::Event>>, Status> {
        use pb::invoke_action::event::{Completed, Progress, Type};
        let req = req.into_inner();
        let (config, mut diags) = self.action_config(&req.action_type, req.config.as_ref(), true);
        let mut progress = Vec::new();
        if let Some(config) = config.filter(|_| !diags.has_errors()) {
            if let Some(ctx) = merge(self.configured().await, &mut diags) {
                tracing::debug!(action = %req.action_type, "invoking");
                let resources: Vec<_> = self.resources.values().cloned().collect();
                let v = crate::action::invoke(&ctx, &resources, config).await;
                progress = v.progress;
                diags.extend(v.outcome);
            }
        }
        let events = progress
            .into_iter()
            .map(|message| pb::invoke_action::Event { r#type: Some(Type::Progress(Progress { message })) })
            .chain([pb::invoke_action::Event { r#type: Some(Type::Completed(Completed { diagnostics: diagnostics_to_proto(&diags) })) }])
            .map(Ok)
            .collect::<Vec<_>>();
        Ok(Response::new(Box::pin(futures::stream::iter(events))))
    }

    async fn stop_provider(&self, _req: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("StopProvider received: cancelling in-flight waits");
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::check_terraform_rules;

    /// Current Terraform rejects a provider whose schema breaks its rules
    /// (1.0.3 does not check), so every served schema is checked here.
    #[test]
    fn every_served_schema_passes_terraforms_rules() {
        let p = BlueGreenProvider::new();
        let mut errors = check_terraform_rules(&p.provider_schema().block, "provider");
        for d in p.data_sources() {
            errors.extend(check_terraform_rules(&d.schema().block, d.type_name()));
        }
        for r in p.resources() {
            errors.extend(check_terraform_rules(&r.schema().block, r.type_name()));
        }
        for (n, s) in crate::action::schemas() {
            errors.extend(check_terraform_rules(&s.block, n));
        }
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(p.resources().count(), 3);
        assert_eq!(p.data_sources().count(), 6);
    }
}
