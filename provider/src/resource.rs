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

use crate::diag::attr_path;
use crate::diag::Diagnostics;
use crate::plancheck;
use crate::schema::{self, Schema};
use crate::typed::{self, Val};
use crate::value::{Path, Value};

/// What a configured provider hands to resources.
#[derive(Clone)]
pub struct Ctx {
    pub clients: AwsClients,
    /// The per-zone Route 53 component, shared by every resource in this process.
    pub zones: Arc<Zones>,
    /// What the resources planned by this process claim (one owner per record set or rule priority).
    pub claims: Arc<crate::claims::Claims>,
    /// Cancelled when Terraform sends StopProvider.
    pub stop: CancellationToken,
}

/// A plan for one resource. Whether it replaces the resource follows from
/// [`ResourceImpl::REPLACE_ON`], not from the plan.
pub struct Planned<M> {
    pub model: M,
    pub diags: Diagnostics,
}

/// A configurable attribute whose change replaces the resource.
pub struct ReplaceOn<M> {
    /// The attribute's path from the resource's root.
    pub path: &'static [&'static str],
    /// The attribute's value as compared: spellings that mean the same (a
    /// bare and a prefixed zone id, a name's case) give the same key. A key
    /// that is unknown in the configuration replaces the resource.
    pub key: fn(&M) -> Val<String>,
}

/// The attributes of `R` whose change from `prior` to `proposed` replaces the resource.
pub fn replace_paths<R: ResourceImpl>(prior: &R::Model, proposed: &R::Model) -> Vec<Path> {
    R::REPLACE_ON
        .iter()
        .filter(|r| {
            let new = (r.key)(proposed);
            new.is_unknown() || new != (r.key)(prior)
        })
        .map(|r| attr_path(r.path))
        .collect()
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
    /// Facts about the object that Terraform keeps for the provider beside the
    /// state, never shown to the user (the protocol's `private` bytes, here
    /// JSON): a read hands them to the next plan, a plan to its apply. `()`
    /// for none; missing or unreadable bytes are the default.
    type Private: Default + Serialize + DeserializeOwned + Send + Sync;
    const TYPE_NAME: &'static str;
    /// The attributes whose change replaces the resource; the adapter
    /// computes a plan's `requires_replace` from them.
    const REPLACE_ON: &'static [ReplaceOn<Self::Model>] = &[];

    /// Checks across attributes, beyond the schema's constraints, on the
    /// configuration with the schema's defaults filled in. Unknown values are
    /// skipped. Must make no AWS call. None by default.
    fn validate(_config: &Self::Model, _diags: &mut Diagnostics) {}

    /// Fills the optional+computed attributes whose default depends on other
    /// values (the schema's own `default`s are already applied). Runs on every
    /// planned, read, imported and upgraded state, so all of them agree.
    fn complete(_model: &mut Self::Model) {}

    /// Plans a create (`prior` is `None`) or an update. `desired` is the
    /// configuration with its defaults filled in; the plan may only set
    /// computed attributes (it is checked against Terraform's rules before
    /// it is sent). May read AWS (cheaply) for checks that need the real world.
    /// By default the configuration as it is: right for a resource without
    /// computed-only attributes.
    /// `private` comes in as the prior state's and goes out to the apply.
    async fn plan(
        _ctx: Option<&Ctx>,
        _prior: Option<&Self::Model>,
        desired: Self::Model,
        _private: &mut Self::Private,
    ) -> Planned<Self::Model> {
        Planned { model: desired, diags: Diagnostics::new() }
    }

    /// Checks a destroy before anything is touched (Terraform ≥ 1.3 plans
    /// destroys; 1.0 goes straight to [`Self::delete`], which must refuse the
    /// same way). `prior` is the refreshed state.
    async fn plan_destroy(_ctx: Option<&Ctx>, _prior: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    /// `private` comes in as the plan left it and is stored with the new state.
    async fn create(ctx: &Ctx, planned: Self::Model, private: &mut Self::Private) -> Applied<Self::Model>;
    /// `private` comes in as the plan left it and is stored with the new state.
    async fn update(ctx: &Ctx, prior: Self::Model, planned: Self::Model, private: &mut Self::Private) -> Applied<Self::Model>;
    /// On refusal, returns the prior state (unchanged) with the error; the
    /// private state is kept as it was.
    async fn delete(ctx: &Ctx, prior: Self::Model) -> Applied<Self::Model>;
    /// `None` when the object is gone. `private` comes in as stored and is
    /// handed to the next plan.
    async fn read(ctx: &Ctx, state: Self::Model, private: &mut Self::Private) -> Applied<Self::Model>;
    /// The resource an import id names. By default import is refused.
    async fn import(_ctx: &Ctx, _id: &str) -> Result<Self::Model, Diagnostics> {
        let mut d = Diagnostics::new();
        d.error("Import not supported", format!("{} does not support import.", Self::TYPE_NAME));
        Err(d)
    }
}

/// Object-safe face of a resource, used by the server.
#[async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// For a type served under a second name ([`crate::resources::alias`]), the type it is another name of.
    fn alias_of(&self) -> Option<&'static str> {
        None
    }
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    /// The planned state, replace paths and planned private state (`None` on error), with any
    /// warnings. Built from the configuration and the prior state only:
    /// Terraform's proposed new state differs between versions (1.0 keeps a
    /// nested block the configuration removed) and is never read.
    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, config: &Value, prior_private: &[u8]) -> (Option<Plan>, Diagnostics);
    /// Stored state as this version of the resource holds it: defaults filled
    /// in where an older version left them null.
    fn upgrade(&self, state: Value) -> Value;
    /// The new state and private state.
    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value, planned_private: &[u8]) -> (Value, Vec<u8>, Diagnostics);
    /// The refreshed state and private state.
    async fn read(&self, ctx: &Ctx, state: &Value, private: &[u8]) -> (Value, Vec<u8>, Diagnostics);
    /// The imported state and private state.
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<(Value, Vec<u8>), Diagnostics>;
    /// The configurable attributes whose change alone makes the plan replace
    /// the resource. Found by asking the rule the plan uses
    /// ([`replace_paths`], no AWS call) about a change of each attribute in
    /// turn, so the docs say what the plan does.
    async fn attributes_forcing_replacement(&self) -> Result<Vec<Path>, String>;
}

/// A plan as the server sends it.
pub struct Plan {
    pub planned: Value,
    pub requires_replace: Vec<Path>,
    pub private: Vec<u8>,
}

/// A resource's private state from the protocol's bytes: empty or
/// unreadable bytes (another version's, or none yet) are the default.
fn decode_private<P: Default + DeserializeOwned>(bytes: &[u8]) -> P {
    if bytes.is_empty() {
        return P::default();
    }
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable private state; using the default");
        P::default()
    })
}

/// The protocol's bytes for a private state; none for an empty one.
fn encode_private<P: Serialize>(p: &P) -> Vec<u8> {
    match serde_json::to_value(p) {
        Ok(serde_json::Value::Null) => Vec::new(),
        Ok(serde_json::Value::Object(o)) if o.is_empty() => Vec::new(),
        Ok(v) => v.to_string().into_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "could not encode the private state; dropping it");
            Vec::new()
        }
    }
}

pub struct ResourceAdapter<R: ResourceImpl> {
    schema: Schema,
    _r: PhantomData<R>,
}

impl<R: ResourceImpl> ResourceAdapter<R> {
    pub fn new() -> Self {
        let Schema { version, block } = Schema::of::<R::Model>(0);
        Self { schema: Schema { version, block: block.with_defaults_computed() }, _r: PhantomData }
    }

    /// `v` (not null) as the model, with the schema's defaults and the
    /// resource's own completions filled in.
    fn decode_completed(&self, mut v: Value, what: &str) -> Result<R::Model, Diagnostics> {
        schema::apply_defaults(&self.schema.block, &mut v);
        let mut m = self.decode(&v, what)?;
        R::complete(&mut m);
        Ok(m)
    }

    /// `v` with the schema's defaults and the resource's own completions
    /// filled in; unchanged if it does not fit the model.
    fn completed(&self, v: Value) -> Value {
        if v.is_null() {
            return v;
        }
        match self.decode_completed(v.clone(), "state") {
            Ok(m) => self.encode(&m).unwrap_or(v),
            Err(_) => v,
        }
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
                Ok(v) => self.completed(v),
                Err(d) => {
                    diags.extend(d);
                    Value::Null
                }
            },
        };
        (value, diags)
    }
}

/// `m` as the adapter hands it to the resource: the schema's defaults and the
/// resource's completions filled in (for tests that call a resource directly).
#[cfg(test)]
pub fn with_defaults<R: ResourceImpl>(m: R::Model) -> R::Model {
    let adapter = ResourceAdapter::<R>::new();
    let v = adapter.encode(&m).expect("the model encodes");
    adapter.decode_completed(v, "test model").unwrap_or_else(|_| panic!("the model decodes"))
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
        // The resource checks the configuration with the schema's defaults in
        // place, as everything after validation sees it.
        let mut config = config.clone();
        schema::apply_defaults(&self.schema.block, &mut config);
        match self.decode(&config, "configuration") {
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

    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, config: &Value, prior_private: &[u8]) -> (Option<Plan>, Diagnostics) {
        // A destroy (Terraform ≥ 1.3 with the plan_destroy capability): refuse now what delete would refuse.
        if config.is_null() {
            let diags = match (prior.is_null(), self.decode(prior, "prior state")) {
                (true, _) => Diagnostics::new(),
                (false, Ok(p)) => R::plan_destroy(ctx, &p).await,
                (false, Err(d)) => d,
            };
            let planned =
                (!diags.has_errors()).then(|| Plan { planned: Value::Null, requires_replace: Vec::new(), private: prior_private.to_vec() });
            return (planned, diags);
        }
        let mut diags = self.validate(config);
        if diags.has_errors() {
            return (None, diags);
        }
        // Terraform showed validation's warnings already (ValidateResourceConfig).
        diags.0.retain(|d| d.severity != crate::diag::Severity::Warning);
        let decoded = (|| -> Result<_, Diagnostics> {
            let prior = if prior.is_null() { None } else { Some(self.decode(prior, "prior state")?) };
            let desired = self.decode_completed(config.clone(), "configuration")?;
            Ok((prior, desired))
        })();
        let (prior_m, desired) = match decoded {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return (None, diags);
            }
        };
        let requires_replace = prior_m.as_ref().map(|p| replace_paths::<R>(p, &desired)).unwrap_or_default();
        let mut private = decode_private::<R::Private>(prior_private);
        let planned = R::plan(ctx, prior_m.as_ref(), desired, &mut private).await;
        diags.extend(planned.diags);
        if diags.has_errors() {
            return (None, diags);
        }
        let value = match self.encode(&planned.model) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                return (None, diags);
            }
        };
        // The last guard: a plan Terraform would reject is this provider's bug; say so plainly.
        let broken = plancheck::assert_plan_valid(&self.schema.block, prior, config, &value);
        if !broken.is_empty() {
            diags.bug(format!("{}: the plan breaks Terraform's plan rules: {}", R::TYPE_NAME, broken.join("; ")));
            return (None, diags);
        }
        (Some(Plan { planned: value, requires_replace, private: encode_private(&private) }), diags)
    }

    fn upgrade(&self, state: Value) -> Value {
        self.completed(state)
    }

    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value, planned_private: &[u8]) -> (Value, Vec<u8>, Diagnostics) {
        let decoded = (|| -> Result<_, Diagnostics> {
            let prior = if prior.is_null() { None } else { Some(self.decode(prior, "prior state")?) };
            let planned = if planned.is_null() { None } else { Some(self.decode(planned, "planned state")?) };
            Ok((prior, planned))
        })();
        let (prior_m, planned_m) = match decoded {
            Ok(x) => x,
            Err(d) => return (prior.clone(), planned_private.to_vec(), d),
        };
        let mut private = decode_private::<R::Private>(planned_private);
        let applied = match (prior_m, planned_m) {
            (None, Some(p)) => R::create(ctx, p, &mut private).await,
            (Some(old), Some(p)) => R::update(ctx, old, p, &mut private).await,
            (Some(old), None) => R::delete(ctx, old).await,
            (None, None) => Applied { state: None, diags: Diagnostics::new() },
        };
        let (value, diags) = self.finish(applied);
        // No object, no private state.
        let private = if value.is_null() { Vec::new() } else { encode_private(&private) };
        (value, private, diags)
    }

    async fn read(&self, ctx: &Ctx, state: &Value, private: &[u8]) -> (Value, Vec<u8>, Diagnostics) {
        match self.decode(state, "stored state") {
            Ok(m) => {
                let mut p = decode_private::<R::Private>(private);
                let (value, diags) = self.finish(R::read(ctx, m, &mut p).await);
                (value, encode_private(&p), diags)
            }
            Err(d) => (state.clone(), private.to_vec(), d),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<(Value, Vec<u8>), Diagnostics> {
        let m = R::import(ctx, id).await?;
        // An imported object starts with the default private state.
        self.encode(&m).map(|v| (self.completed(v), encode_private(&R::Private::default())))
    }

    async fn attributes_forcing_replacement(&self) -> Result<Vec<Path>, String> {
        let decode =
            |v: &Value| typed::decode::<R::Model>(v).map_err(|e| format!("{}: a sample value does not fit the model: {e}", R::TYPE_NAME));
        let prior_value = probe::sample_block(&self.schema.block, 0);
        let prior = decode(&prior_value)?;
        let mut found = Vec::new();
        for (path, changed) in probe::settable_leaves(&self.schema.block) {
            let proposed = decode(&probe::with_value_at(&prior_value, &path.0, changed))?;
            if replace_paths::<R>(&prior, &proposed).contains(&path) {
                found.push(path);
            }
        }
        Ok(found)
    }
}

/// Sample values for asking a plan what a change does: every settable
/// attribute known, every nested block present once, and for each leaf a
/// second, different value.
mod probe {
    use crate::diag::PathBuilder;
    use crate::schema::{Attribute, Block, Nesting};
    use crate::value::{Path, PathStep, Type, Value};

    /// Sample `variant` (0 or 1) of a value of type `ty`; a restricted
    /// string takes its allowed values in turn.
    fn sample(ty: &Type, allowed: Option<&[String]>, variant: usize) -> Value {
        match ty {
            Type::String | Type::Dynamic => match allowed {
                Some(values) if !values.is_empty() => Value::string(values[variant.min(values.len() - 1)].clone()),
                _ => Value::string(["a", "b"][variant]),
            },
            Type::Number => Value::number(1 + variant as i64),
            Type::Bool => Value::Bool(variant == 1),
            Type::List(el) => Value::list([sample(el, None, variant)]),
            Type::Set(el) => Value::set([sample(el, None, variant)]),
            Type::Map(el) => Value::map([("k", sample(el, None, variant))]),
            Type::Object(attrs) => Value::Object(attrs.iter().map(|(k, t)| (k.clone(), sample(t, None, variant))).collect()),
            Type::Tuple(els) => Value::tuple(els.iter().map(|t| sample(t, None, variant))),
        }
    }

    fn settable(a: &Attribute) -> bool {
        a.required || a.optional
    }

    fn attribute_sample(a: &Attribute, variant: usize) -> Value {
        sample(&a.ty, a.allowed_values().as_deref(), variant)
    }

    /// A value of the block: settable attributes known, computed-only ones null.
    pub fn sample_block(b: &Block, variant: usize) -> Value {
        let mut attrs: std::collections::BTreeMap<String, Value> =
            b.attributes.iter().map(|a| (a.name.clone(), if settable(a) { attribute_sample(a, variant) } else { Value::Null })).collect();
        for n in &b.blocks {
            let inner = sample_block(&n.block, variant);
            let v = match n.nesting {
                Nesting::Single => inner,
                Nesting::List => Value::list([inner]),
                Nesting::Set => Value::set([inner]),
            };
            attrs.insert(n.name.clone(), v);
        }
        Value::Object(attrs)
    }

    /// Every settable attribute's path in [`sample_block`]`(b, 0)`, with the other sample value.
    pub fn settable_leaves(b: &Block) -> Vec<(Path, Value)> {
        fn walk(b: &Block, base: &Path, out: &mut Vec<(Path, Value)>) {
            for a in b.attributes.iter().filter(|a| settable(a)) {
                out.push((base.clone().attr(&a.name), attribute_sample(a, 1)));
            }
            for n in &b.blocks {
                let p = base.clone().attr(&n.name);
                walk(&n.block, &if n.nesting == Nesting::Single { p } else { p.index(0) }, out);
            }
        }
        let mut out = Vec::new();
        walk(b, &Path::default(), &mut out);
        out
    }

    /// `v` with the value at `path` replaced by `new`.
    pub fn with_value_at(v: &Value, path: &[PathStep], new: Value) -> Value {
        let Some((step, rest)) = path.split_first() else { return new };
        let mut v = v.clone();
        match (step, &mut v) {
            (PathStep::Attr(name), Value::Object(attrs)) => {
                if let Some(inner) = attrs.get_mut(name) {
                    *inner = with_value_at(inner, rest, new);
                }
            }
            (PathStep::Index(i), Value::List(items) | Value::Set(items)) => {
                if let Some(inner) = items.get_mut(*i as usize) {
                    *inner = with_value_at(inner, rest, new);
                }
            }
            _ => {}
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::attr_path;

    /// A third resource needs only its model and its lifecycle: validation,
    /// completion, the plan, destroy checks, replacement and import have
    /// default bodies.
    #[derive(Debug, Clone, Default, serde::Deserialize, Serialize, JsonSchema)]
    struct Minimal {
        /// A name.
        name: Val<String>,
        /// A count.
        #[serde(default)]
        #[schemars(extend("default" = 3))]
        count: Val<i64>,
    }

    struct MinimalResource;

    #[async_trait]
    impl ResourceImpl for MinimalResource {
        type Model = Minimal;
        type Private = ();
        const TYPE_NAME: &'static str = "bluegreen_minimal";

        async fn create(_ctx: &Ctx, planned: Minimal, _: &mut ()) -> Applied<Minimal> {
            Applied { state: Some(planned), diags: Diagnostics::new() }
        }
        async fn update(_ctx: &Ctx, _prior: Minimal, planned: Minimal, _: &mut ()) -> Applied<Minimal> {
            Applied { state: Some(planned), diags: Diagnostics::new() }
        }
        async fn delete(_ctx: &Ctx, _prior: Minimal) -> Applied<Minimal> {
            Applied { state: None, diags: Diagnostics::new() }
        }
        async fn read(_ctx: &Ctx, state: Minimal, _: &mut ()) -> Applied<Minimal> {
            Applied { state: Some(state), diags: Diagnostics::new() }
        }
    }

    #[test]
    fn private_state_is_json_and_empty_or_unreadable_bytes_are_the_default() {
        #[derive(Debug, Default, PartialEq, serde::Deserialize, Serialize)]
        struct P {
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            gone: bool,
        }
        assert_eq!(encode_private(&P::default()), Vec::<u8>::new(), "nothing to keep");
        assert_eq!(encode_private(&()), Vec::<u8>::new());
        let bytes = encode_private(&P { gone: true });
        assert_eq!(bytes, br#"{"gone":true}"#);
        assert_eq!(decode_private::<P>(&bytes), P { gone: true });
        assert_eq!(decode_private::<P>(&[]), P::default());
        assert_eq!(decode_private::<P>(b"\x00not json"), P::default());
    }

    #[tokio::test]
    async fn a_minimal_resource_plans_with_its_defaults_and_refuses_import() {
        let r = ResourceAdapter::<MinimalResource>::new();
        let config = Value::Object([("name".to_string(), Value::string("a")), ("count".to_string(), Value::Null)].into());
        assert!(r.validate(&config).is_empty());
        let (planned, diags) = r.plan(None, &Value::Null, &config, &[]).await;
        assert!(diags.is_empty(), "{diags:?}");
        let Plan { planned: value, requires_replace: replace, .. } = planned.expect("a plan");
        assert_eq!(typed::decode::<Minimal>(&value).unwrap().count, Val::Known(3), "the schema default");
        assert!(replace.is_empty());
        assert!(r.attributes_forcing_replacement().await.unwrap().is_empty());
        let r53 = Arc::new(bluegreen_core::testing::FakeRoute53::new());
        let clients = AwsClients {
            route53: r53.clone(),
            elbv2: Arc::new(bluegreen_core::testing::FakeElbv2::default()),
            cloudwatch: bluegreen_core::aws::watch::CloudWatchReader::new(Arc::new(bluegreen_core::testing::FakeCloudWatch::default())),
            region: "us-east-1".into(),
            account: None,
            credentials_expire: None,
        };
        let ctx = Ctx { zones: Arc::new(Zones::new(r53)), clients, stop: CancellationToken::new(), claims: Default::default() };
        let refused = r.import(&ctx, "a").await.map(|_| ()).expect_err("import is refused");
        assert_eq!(refused.0[0].summary, "Import not supported");
        assert!(refused.has_errors());
    }

    /// What the docs print as "Forces replacement" comes from the plans; this
    /// pins it, so a change to either shows up here.
    #[tokio::test]
    async fn the_plans_replace_on_exactly_these_attributes() {
        let mut got = std::collections::BTreeMap::new();
        for r in crate::resources::all() {
            got.insert(r.type_name(), r.attributes_forcing_replacement().await.expect("probing the plan"));
        }
        assert_eq!(got["bluegreen_switch"], [attr_path(&["name"]), attr_path(&["type"]), attr_path(&["zone_id"])]);
        assert_eq!(got["canary_listener"], [attr_path(&["listener_arn"])]);
    }
}
