//! The protocol as Terraform drives it through a resource's life, in
//! process, with in-memory AWS fakes: create, refresh, edits forwards and
//! backwards, import, destroy — for both resources and both ways Terraform
//! builds `proposed_new_state` (1.0 keeps a removed nested block, newer
//! versions do not).
//!
//! Every PlanResourceChange answer is judged by Terraform's plan rules and
//! every ApplyResourceChange answer by its apply rules (`plancheck`), as
//! Terraform would judge them; a refresh followed by a plan of the same
//! configuration must plan no change.

use std::sync::Arc;

use bluegreen_core::aws::elbv2::Forward;
use bluegreen_core::aws::AwsClients;
use bluegreen_core::testing::{FakeElbv2, FakeRoute53};
use bluegreen_provider::plancheck::{self, Proposal};
use bluegreen_provider::proto::tfplugin6 as pb;
use bluegreen_provider::proto::tfplugin6::provider_server::Provider;
use bluegreen_provider::schema::Block;
use bluegreen_provider::server::BlueGreenProvider;
use bluegreen_provider::typed;
use bluegreen_provider::value::{json, msgpack, Type, Value};
use serde_json::json;
use tonic::Request;

const ZONE: &str = "Z0123456789ABCDEFGHIJ";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/legacy/0123456789abcdef/0123456789abcdef";
const TG_BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/legacy/0123456789abcdef";
const TG_GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ecs/fedcba9876543210";

/// Terraform, reduced to the calls it makes and the checks it applies.
struct Terraform {
    /// The AWS the provider processes see; each command starts a provider of its own, as Terraform does (see
    /// [`Terraform::provider`]).
    clients: AwsClients,
    how: Proposal,
    type_name: &'static str,
    block: Block,
    ty: Type,
    r53: Arc<FakeRoute53>,
    elb: Arc<FakeElbv2>,
    cw: Arc<bluegreen_core::testing::FakeCloudWatch>,
}

fn dv(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue { msgpack: msgpack::encode(v, ty).expect("encodes"), json: Vec::new() }
}

fn errors(d: &[pb::Diagnostic]) -> Vec<String> {
    d.iter().filter(|d| d.severity == pb::diagnostic::Severity::Error as i32).map(|d| format!("{}: {}", d.summary, d.detail)).collect()
}

impl Terraform {
    fn new(type_name: &'static str, how: Proposal) -> Terraform {
        let r53 = Arc::new(FakeRoute53::new());
        r53.add_zone(ZONE, "example.com");
        let elb = Arc::new(FakeElbv2::default());
        elb.add_listener(LISTENER, Forward { target_groups: vec![(TG_BLUE.into(), 1)], stickiness_seconds: None });
        elb.set_health(TG_GREEN, vec!["healthy", "healthy"]);
        let cw = Arc::new(bluegreen_core::testing::FakeCloudWatch::default());
        let clients = AwsClients {
            route53: r53.clone(),
            elbv2: elb.clone(),
            cloudwatch: bluegreen_core::aws::watch::CloudWatchReader::new(cw.clone()),
            region: "us-east-1".into(),
            account: None,
            credentials_expire: None,
        };
        let schema = BlueGreenProvider::with_clients(clients.clone())
            .resources()
            .find(|r| r.type_name() == type_name)
            .expect("resource")
            .schema()
            .clone();
        Terraform { clients, how, type_name, ty: schema.implied_type(), block: schema.block, r53, elb, cw }
    }

    /// A provider process for one command: Terraform starts one per plan and per apply, so what a process remembers
    /// of one configuration (the names its resources claim) never meets another's.
    fn provider(&self) -> BlueGreenProvider {
        BlueGreenProvider::with_clients(self.clients.clone())
    }

    fn config(&self, j: serde_json::Value) -> Value {
        typed::json_to_value(&j, &self.ty).expect("a configuration of the schema")
    }

    /// PlanResourceChange; `Err` with the error diagnostics when the provider refuses.
    async fn plan(&self, prior: &Value, config: &Value) -> Result<Value, Vec<String>> {
        let proposed = plancheck::proposed_new(&self.block, prior, config, self.how);
        let answer = self
            .provider()
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: self.type_name.into(),
                prior_state: Some(dv(prior, &self.ty)),
                proposed_new_state: Some(dv(&proposed, &self.ty)),
                config: Some(dv(config, &self.ty)),
                ..Default::default()
            }))
            .await
            .expect("answers")
            .into_inner();
        let errs = errors(&answer.diagnostics);
        if !errs.is_empty() {
            assert!(answer.planned_state.is_none() || prior.is_null(), "a plan alongside errors: {errs:?}");
            return Err(errs);
        }
        let planned = msgpack::decode(&answer.planned_state.expect("a planned state").msgpack, &self.ty).expect("decodes");
        let broken = plancheck::assert_plan_valid(&self.block, prior, config, &planned);
        assert!(broken.is_empty(), "{}: Terraform rejects this plan ({:?}): {broken:?}", self.type_name, self.how);
        Ok(planned)
    }

    /// ApplyResourceChange: the new state and the error diagnostics.
    async fn apply(&self, prior: &Value, planned: &Value, config: &Value) -> (Value, Vec<String>) {
        let answer = self
            .provider()
            .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: self.type_name.into(),
                prior_state: Some(dv(prior, &self.ty)),
                planned_state: Some(dv(planned, &self.ty)),
                config: Some(dv(config, &self.ty)),
                ..Default::default()
            }))
            .await
            .expect("answers")
            .into_inner();
        let new = msgpack::decode(&answer.new_state.expect("a new state").msgpack, &self.ty).expect("decodes");
        let errs = errors(&answer.diagnostics);
        assert!(new.is_known(), "the result of apply holds unknowns: {new:?}");
        if errs.is_empty() {
            let broken = plancheck::assert_object_compatible(&self.block, planned, &new);
            assert!(broken.is_empty(), "{}: inconsistent result after apply: {broken:?}", self.type_name);
        }
        (new, errs)
    }

    /// What `terraform refresh` does with stored state: UpgradeResourceState (from JSON) then ReadResource.
    async fn refresh(&self, state: &Value) -> Value {
        let raw = json::encode(state, &self.ty).expect("state encodes as JSON");
        let up = self
            .provider()
            .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
                type_name: self.type_name.into(),
                version: 0,
                raw_state: Some(pb::RawState { json: raw, flatmap: Default::default() }),
            }))
            .await
            .expect("answers")
            .into_inner();
        assert!(errors(&up.diagnostics).is_empty(), "{:?}", up.diagnostics);
        let read = self
            .provider()
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: self.type_name.into(),
                current_state: up.upgraded_state,
                ..Default::default()
            }))
            .await
            .expect("answers")
            .into_inner();
        assert!(errors(&read.diagnostics).is_empty(), "{:?}", read.diagnostics);
        msgpack::decode(&read.new_state.expect("a state").msgpack, &self.ty).expect("decodes")
    }

    async fn import(&self, id: &str) -> Value {
        let answer = self
            .provider()
            .import_resource_state(Request::new(pb::import_resource_state::Request {
                type_name: self.type_name.into(),
                id: id.into(),
                ..Default::default()
            }))
            .await
            .expect("answers")
            .into_inner();
        assert!(errors(&answer.diagnostics).is_empty(), "{:?}", answer.diagnostics);
        let state = msgpack::decode(&answer.imported_resources[0].state.as_ref().expect("a state").msgpack, &self.ty).expect("decodes");
        self.refresh(&state).await
    }

    /// `terraform apply` of `config` over `state`: refresh, plan, apply, then
    /// refresh and plan again, which must change nothing. Returns the state.
    async fn converge(&self, state: &Value, config: &Value, step: &str) -> Value {
        let prior = if state.is_null() { Value::Null } else { self.refresh(state).await };
        let planned = self.plan(&prior, config).await.unwrap_or_else(|e| panic!("{step}: plan refused: {e:?}"));
        let (new, errs) = self.apply(&prior, &planned, config).await;
        assert!(errs.is_empty(), "{step}: apply failed: {errs:?}");
        self.assert_idle(&new, config, step).await;
        new
    }

    /// Refresh and plan again: no change.
    async fn assert_idle(&self, state: &Value, config: &Value, step: &str) {
        let refreshed = self.refresh(state).await;
        let again = self.plan(&refreshed, config).await.unwrap_or_else(|e| panic!("{step}: re-plan refused: {e:?}"));
        assert_eq!(again, refreshed, "{step}: the plan after apply is not empty ({:?})", self.how);
    }

    /// `terraform destroy`: a planned destroy where the Terraform version plans destroys, then the apply.
    async fn destroy(&self, state: &Value, plans_destroys: bool) -> Result<(), Vec<String>> {
        let prior = self.refresh(state).await;
        if plans_destroys {
            self.plan(&prior, &Value::Null).await?;
        }
        let (new, errs) = self.apply(&prior, &Value::Null, &Value::Null).await;
        if errs.is_empty() {
            assert!(new.is_null(), "destroyed, but a state came back");
            Ok(())
        } else {
            assert_eq!(new, prior, "a refused destroy keeps the state");
            Err(errs)
        }
    }
}

fn switch_config(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({
        "zone_id": ZONE, "name": "api.example.com",
        "blue": {"alias": {"name": "legacy-1.us-east-1.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K"}},
        "green": {"records": ["203.0.113.20"]},
        "traffic": 0
    });
    for (k, v) in extra.as_object().expect("object") {
        base[k] = v.clone();
    }
    base
}

fn canary_config(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({
        "listener_arn": LISTENER, "priority": 100, "blue_target_group_arn": TG_BLUE, "green_target_group_arn": TG_GREEN,
        "traffic": 0
    });
    for (k, v) in extra.as_object().expect("object") {
        base[k] = v.clone();
    }
    base
}

const BOTH: [Proposal; 2] = [Proposal::KeepsRemovedSingleBlocks, Proposal::DropsRemovedSingleBlocks];

#[tokio::test(start_paused = true)]
async fn a_switch_edited_forwards_and_backwards() {
    for how in BOTH {
        let tf = Terraform::new("bluegreen_switch", how);
        let gated = json!({
            "rollout": {"steps": [10, 50], "bake_time": "1m"},
            "health_gate": {"target_group_arns": [TG_GREEN], "min_healthy_targets": 2},
            "on_gate_failure": "halt", "sync_timeout": "5m", "wait_for_sync": true
        });
        let mut full = gated.clone();
        full["traffic"] = json!(100);
        let s = tf.converge(&Value::Null, &tf.config(switch_config(gated.clone())), "create with rollout and gate").await;
        let s = tf.converge(&s, &tf.config(switch_config(full)), "roll out to 100%").await;
        // The cutover is over: the blocks go (the Terraform 1.0 failure), then everything optional.
        let s = tf.converge(&s, &tf.config(switch_config(json!({"traffic": 100, "rollout": null}))), "remove rollout").await;
        let s = tf.converge(&s, &tf.config(switch_config(json!({"traffic": 100}))), "remove health_gate and settings").await;
        // And back: the blocks return, defaults spelled out, identifiers and TTL changed in place.
        let spelled = json!({
            "traffic": 100, "type": "A", "adopt_existing": false, "on_destroy": "collapse", "wait_for_sync": true,
            "sync_timeout": "10m", "on_gate_failure": "rollback",
            "blue": {"set_identifier": "blue", "alias": {"name": "legacy-1.us-east-1.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K",
                     "evaluate_target_health": true}},
            "green": {"set_identifier": "green", "records": ["203.0.113.20"], "ttl": 60}
        });
        let s = tf.converge(&s, &tf.config(switch_config(spelled)), "defaults spelled out").await;
        let edited = json!({
            "traffic": 100, "rollout": {"steps": [25]}, "health_gate": {"target_group_arns": [TG_GREEN]},
            "green": {"set_identifier": "ecs", "records": ["203.0.113.20"], "ttl": 30}
        });
        let s = tf.converge(&s, &tf.config(switch_config(edited)), "identifier and TTL changed, blocks back").await;
        let weights: Vec<_> = tf.r53.records(ZONE).iter().map(|r| format!("{:?} ttl={:?}", r.routing, r.ttl)).collect();
        assert!(weights.iter().any(|w| w.contains("\"ecs\"") && w.contains("weight: 100") && w.contains("Some(30)")), "{weights:?}");
        tf.destroy(&s, how == Proposal::DropsRemovedSingleBlocks).await.expect("destroy at 100% green collapses");
    }
}

#[tokio::test(start_paused = true)]
async fn a_canary_edited_forwards_and_backwards() {
    for how in BOTH {
        let tf = Terraform::new("canary_listener", how);
        let all = json!({
            "match": {"host_header": ["api.example.com"]},
            "test_route": {"header_name": "X-Canary", "header_values": ["1"]},
            "stickiness": {"duration": "30s"},
            "rollout": {"steps": [10], "bake_time": "1m"},
            "health_gate": {"min_healthy_targets": 2},
            "traffic": 50
        });
        let mut s = tf.converge(&Value::Null, &tf.config(canary_config(all)), "create with every block").await;
        for (what, config) in [
            (
                "remove test_route",
                json!({"match": {"host_header": ["api.example.com"]}, "stickiness": {"duration": "30s"}, "rollout": {"steps": [10]}, "health_gate": {}, "traffic": 50}),
            ),
            (
                "remove stickiness",
                json!({"match": {"host_header": ["api.example.com"]}, "rollout": {"steps": [10]}, "health_gate": {}, "traffic": 50}),
            ),
            ("remove rollout and gate", json!({"match": {"host_header": ["api.example.com"]}, "traffic": 50})),
            ("remove match", json!({"traffic": 50})),
            (
                "test route back, priorities changed",
                json!({"priority": 200, "test_route": {"header_name": "X-Canary", "header_values": ["1", "yes"], "priority": 150}, "traffic": 0}),
            ),
            (
                "defaults spelled out",
                json!({"priority": 200, "test_route": {"header_name": "X-Canary", "header_values": ["1", "yes"], "priority": 150}, "traffic": 0, "on_destroy": "delete", "on_gate_failure": "rollback"}),
            ),
        ] {
            s = tf.converge(&s, &tf.config(canary_config(config)), what).await;
        }
        let mut priorities: Vec<_> = tf.elb.rules(LISTENER).iter().map(|r| (r.priority, r.conditions.len())).collect();
        priorities.sort();
        assert_eq!(priorities, [(Some(150), 1), (Some(200), 1)], "the test rule (its header) before the weighted rule");
        tf.destroy(&s, how == Proposal::DropsRemovedSingleBlocks).await.expect("destroy at 0% green deletes");
        assert!(tf.elb.rules(LISTENER).is_empty());
    }
}

/// A destroy apply would refuse is refused in the plan where Terraform plans destroys (≥ 1.3), with the same
/// diagnostic, before anything is touched; Terraform 1.0 goes straight to apply, which refuses.
#[tokio::test(start_paused = true)]
async fn a_destroy_apply_would_refuse_is_refused_at_plan_time_too() {
    let tf = Terraform::new("bluegreen_switch", Proposal::DropsRemovedSingleBlocks);
    let s = tf.converge(&Value::Null, &tf.config(switch_config(json!({"traffic": 40}))), "create split").await;
    let prior = tf.refresh(&s).await;
    let at_plan = tf.plan(&prior, &Value::Null).await.expect_err("refused at plan");
    let changes = tf.r53.calls("ChangeResourceRecordSets");
    let at_apply = tf.destroy(&s, false).await.expect_err("refused at apply");
    assert_eq!(at_plan, at_apply);
    assert!(at_plan[0].starts_with("Destroy refused while traffic is split"), "{at_plan:?}");
    assert_eq!(tf.r53.calls("ChangeResourceRecordSets"), changes, "nothing written");

    let tf = Terraform::new("canary_listener", Proposal::DropsRemovedSingleBlocks);
    let s = tf.converge(&Value::Null, &tf.config(canary_config(json!({"traffic": 30}))), "create canary").await;
    let prior = tf.refresh(&s).await;
    let at_plan = tf.plan(&prior, &Value::Null).await.expect_err("refused at plan");
    let at_apply = tf.destroy(&s, false).await.expect_err("refused at apply");
    assert_eq!(at_plan, at_apply);
    assert!(at_plan[0].starts_with("Destroy refused while green has traffic"), "{at_plan:?}");
    assert_eq!(tf.elb.rules(LISTENER).len(), 1, "the rule stays");
    // Promote while split: refused the same way.
    let s = tf.converge(&s, &tf.config(canary_config(json!({"traffic": 30, "on_destroy": "promote"}))), "promote").await;
    let at_plan = tf.plan(&tf.refresh(&s).await, &Value::Null).await.expect_err("refused at plan");
    assert!(at_plan[0].starts_with("Promote refused while traffic is split"), "{at_plan:?}");
}

/// Import, then plan: no change, whether the configuration spells the defaults out or omits them.
#[tokio::test(start_paused = true)]
async fn import_then_plan_is_empty_with_defaults_spelled_out_or_omitted() {
    for how in BOTH {
        let tf = Terraform::new("bluegreen_switch", how);
        let omitted = tf.config(switch_config(json!({"traffic": 30})));
        let spelled = tf.config(switch_config(json!({
            "traffic": 30, "type": "A", "adopt_existing": false, "on_destroy": "collapse", "wait_for_sync": true,
            "sync_timeout": "10m", "on_gate_failure": "rollback",
            "blue": {"set_identifier": "blue", "alias": {"name": "legacy-1.us-east-1.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K",
                     "evaluate_target_health": true}},
            "green": {"set_identifier": "green", "records": ["203.0.113.20"], "ttl": 60}
        })));
        tf.converge(&Value::Null, &omitted, "create").await;
        for (what, config) in [("omitted", &omitted), ("spelled out", &spelled)] {
            let imported = tf.import(&format!("{ZONE}/api.example.com/A")).await;
            let planned = tf.plan(&imported, config).await.expect("plans");
            assert_eq!(planned, imported, "switch import, defaults {what} ({how:?}): the plan is not empty");
        }

        let tf = Terraform::new("canary_listener", how);
        let omitted = tf.config(canary_config(json!({"traffic": 20, "test_route": {"header_name": "X-Canary", "header_values": ["1"]}})));
        let spelled = tf.config(canary_config(json!({
            "traffic": 20, "on_destroy": "delete", "on_gate_failure": "rollback",
            "test_route": {"header_name": "X-Canary", "header_values": ["1"], "priority": 99}
        })));
        let s = tf.converge(&Value::Null, &omitted, "create").await;
        let id = format!(
            "{},{}",
            s.get_attr("rule_arn").and_then(Value::as_str).unwrap(),
            s.get_attr("test_rule_arn").and_then(Value::as_str).unwrap()
        );
        for (what, config) in [("omitted", &omitted), ("spelled out", &spelled)] {
            let imported = tf.import(&id).await;
            let planned = tf.plan(&imported, config).await.expect("plans");
            assert_eq!(planned, imported, "canary import, defaults {what} ({how:?}): the plan is not empty");
        }
    }
}

// ---------------------------------------------------------------------------
// Terraform ≥ 1.8 / 1.12: MoveResourceState, resource identity (issue 21)
// ---------------------------------------------------------------------------

/// The identity in a protocol answer, decoded with the type's identity schema.
fn identity_of(type_name: &str, data: Option<&pb::ResourceIdentityData>) -> Option<Value> {
    let def = bluegreen_provider::identity::of(type_name).expect("an identity schema");
    data.map(|d| msgpack::decode(&d.identity_data.as_ref().expect("identity data").msgpack, &def.implied_type()).expect("decodes"))
}

fn s(v: &str) -> Value {
    Value::string(v)
}

#[tokio::test(start_paused = true)]
async fn identity_schemas_cover_both_resources_and_the_older_canary_name() {
    let answer = BlueGreenProvider::new()
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .expect("answers")
        .into_inner();
    let names = |t: &str| -> Vec<(String, bool, bool)> {
        answer.identity_schemas[t]
            .identity_attributes
            .iter()
            .map(|a| (a.name.clone(), a.required_for_import, a.optional_for_import))
            .collect()
    };
    let mut types: Vec<&String> = answer.identity_schemas.keys().collect();
    types.sort();
    assert_eq!(types, ["bluegreen_canary_listener", "bluegreen_switch", "canary_listener"]);
    assert_eq!(
        names("bluegreen_switch"),
        [
            ("zone_id".into(), true, false),
            ("name".into(), true, false),
            ("type".into(), true, false),
            ("blue_set_identifier".into(), false, true),
            ("green_set_identifier".into(), false, true)
        ]
    );
    assert_eq!(names("canary_listener"), names("bluegreen_canary_listener"));
    assert_eq!(names("bluegreen_canary_listener"), [("rule_arn".into(), true, false), ("test_rule_arn".into(), false, true)]);
    assert!(answer.identity_schemas.values().all(|s| s.version == 0));
}

/// Plan (a create's rule ARN unknown), apply, read and import carry the canary's identity; import by identity gives
/// the state import by id gives; a move from `canary_listener` needs no AWS call, not even a configured provider.
#[tokio::test(start_paused = true)]
async fn the_canary_identity_through_plan_apply_read_import_and_move() {
    let tf = Terraform::new("bluegreen_canary_listener", Proposal::DropsRemovedSingleBlocks);
    let config = tf.config(canary_config(json!({"test_route": {"header_name": "X-Canary", "header_values": ["1"]}})));
    let p = tf.provider();
    let plan = p
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: tf.type_name.into(),
            prior_state: Some(dv(&Value::Null, &tf.ty)),
            proposed_new_state: Some(dv(&config, &tf.ty)),
            config: Some(dv(&config, &tf.ty)),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert!(errors(&plan.diagnostics).is_empty(), "{:?}", plan.diagnostics);
    // A create's rule ARN is not known before the apply: no planned identity (Terraform cannot show an unknown one).
    assert!(plan.planned_identity.is_none(), "{:?}", plan.planned_identity);
    let planned = msgpack::decode(&plan.planned_state.expect("planned").msgpack, &tf.ty).expect("decodes");
    let applied = p
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: tf.type_name.into(),
            prior_state: Some(dv(&Value::Null, &tf.ty)),
            planned_state: Some(dv(&planned, &tf.ty)),
            config: Some(dv(&config, &tf.ty)),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert!(errors(&applied.diagnostics).is_empty(), "{:?}", applied.diagnostics);
    let state = msgpack::decode(&applied.new_state.as_ref().expect("state").msgpack, &tf.ty).expect("decodes");
    let id = identity_of(tf.type_name, applied.new_identity.as_ref()).expect("an identity");
    let (rule, test) = (state.get_attr("rule_arn").cloned().unwrap(), state.get_attr("test_rule_arn").cloned().unwrap());
    assert!(rule.as_str().is_some() && test.as_str().is_some(), "{state:?}");
    assert_eq!(id, Value::object([("rule_arn", rule.clone()), ("test_rule_arn", test.clone())]));

    let read = tf
        .provider()
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: tf.type_name.into(),
            current_state: applied.new_state.clone(),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(identity_of(tf.type_name, read.new_identity.as_ref()), Some(id.clone()));

    // An update plans a wholly known identity (Terraform ≥ 1.12 refuses an unknown one for an update).
    let moved_up = tf.config(canary_config(json!({"traffic": 10, "test_route": {"header_name": "X-Canary", "header_values": ["1"]}})));
    let update = tf
        .provider()
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: tf.type_name.into(),
            prior_state: Some(dv(&state, &tf.ty)),
            proposed_new_state: Some(dv(&moved_up, &tf.ty)),
            config: Some(dv(&moved_up, &tf.ty)),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(identity_of(tf.type_name, update.planned_identity.as_ref()), Some(id.clone()));

    // Import by identity, under either name, is import by the id it spells.
    let by_id = tf.import(&format!("{},{}", rule.as_str().unwrap(), test.as_str().unwrap())).await;
    for name in ["bluegreen_canary_listener", "canary_listener"] {
        let def = bluegreen_provider::identity::of(name).unwrap();
        let imported = tf
            .provider()
            .import_resource_state(Request::new(pb::import_resource_state::Request {
                type_name: name.into(),
                identity: Some(pb::ResourceIdentityData { identity_data: Some(dv(&id, &def.implied_type())) }),
                ..Default::default()
            }))
            .await
            .expect("answers")
            .into_inner();
        assert!(errors(&imported.diagnostics).is_empty(), "{:?}", imported.diagnostics);
        let r = &imported.imported_resources[0];
        assert_eq!(identity_of(name, r.identity.as_ref()), Some(id.clone()));
        let got = msgpack::decode(&r.state.as_ref().unwrap().msgpack, &tf.ty).expect("decodes");
        assert_eq!(tf.refresh(&got).await, by_id, "{name}");
    }

    // moved { from = canary_listener.x  to = bluegreen_canary_listener.x }: an unconfigured provider, no AWS call.
    let calls = tf.elb.calls("DescribeRules");
    let raw = json::encode(&state, &tf.ty).expect("state encodes as JSON");
    let unconfigured = BlueGreenProvider::new();
    let caps = unconfigured
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .expect("answers")
        .into_inner()
        .server_capabilities
        .expect("capabilities");
    assert!(caps.move_resource_state && caps.plan_destroy);
    let moved = unconfigured
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_provider_address: "registry.terraform.io/cutover/bluegreen".into(),
            source_type_name: "canary_listener".into(),
            source_schema_version: 0,
            source_state: Some(pb::RawState { json: raw.clone(), flatmap: Default::default() }),
            target_type_name: "bluegreen_canary_listener".into(),
            source_private: b"{\"x\":1}".to_vec(),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert!(errors(&moved.diagnostics).is_empty(), "{:?}", moved.diagnostics);
    assert_eq!(msgpack::decode(&moved.target_state.expect("a state").msgpack, &tf.ty).expect("decodes"), state);
    assert_eq!(moved.target_private, b"{\"x\":1}");
    assert_eq!(identity_of(tf.type_name, moved.target_identity.as_ref()), Some(id));
    assert_eq!(tf.elb.calls("DescribeRules"), calls, "no AWS call");

    // Only between names of one resource.
    let refused = unconfigured
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_provider_address: "registry.terraform.io/cutover/bluegreen".into(),
            source_type_name: "bluegreen_switch".into(),
            source_state: Some(pb::RawState { json: raw, flatmap: Default::default() }),
            target_type_name: "bluegreen_canary_listener".into(),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(errors(&refused.diagnostics).len(), 1, "{:?}", refused.diagnostics);
    assert!(errors(&refused.diagnostics)[0].starts_with("Unsupported move"), "{:?}", refused.diagnostics);
    assert!(refused.target_state.is_none());
}

/// The switch's identity has its set identifiers filled as the resource fills them; import by an identity that
/// leaves them out imports the default pair; UpgradeResourceIdentity reads version 0 and refuses a newer one.
#[tokio::test(start_paused = true)]
async fn the_switch_identity_imports_and_upgrades() {
    let tf = Terraform::new("bluegreen_switch", Proposal::DropsRemovedSingleBlocks);
    let state = tf.converge(&Value::Null, &tf.config(switch_config(json!({"traffic": 20}))), "create").await;
    let def = bluegreen_provider::identity::of("bluegreen_switch").unwrap();
    let want = Value::object([
        ("zone_id", s(ZONE)),
        ("name", s("api.example.com")),
        ("type", s("A")),
        ("blue_set_identifier", s("blue")),
        ("green_set_identifier", s("green")),
    ]);
    assert_eq!(def.from_state(&state), want);
    let partial = Value::object([
        ("zone_id", s(ZONE)),
        ("name", s("api.example.com")),
        ("type", s("A")),
        ("blue_set_identifier", Value::Null),
        ("green_set_identifier", Value::Null),
    ]);
    let imported = tf
        .provider()
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "bluegreen_switch".into(),
            identity: Some(pb::ResourceIdentityData { identity_data: Some(dv(&partial, &def.implied_type())) }),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert!(errors(&imported.diagnostics).is_empty(), "{:?}", imported.diagnostics);
    assert_eq!(identity_of("bluegreen_switch", imported.imported_resources[0].identity.as_ref()), Some(want.clone()));

    let raw = json::encode(&want, &def.implied_type()).unwrap();
    let up = |version: i64| {
        let raw = raw.clone();
        async move {
            BlueGreenProvider::new()
                .upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
                    type_name: "bluegreen_switch".into(),
                    version,
                    raw_identity: Some(pb::RawState { json: raw, flatmap: Default::default() }),
                }))
                .await
                .expect("answers")
                .into_inner()
        }
    };
    let same = up(0).await;
    assert!(errors(&same.diagnostics).is_empty(), "{:?}", same.diagnostics);
    assert_eq!(identity_of("bluegreen_switch", same.upgraded_identity.as_ref()), Some(want));
    let newer = up(1).await;
    assert!(errors(&newer.diagnostics)[0].starts_with("Resource identity from a newer provider"), "{:?}", newer.diagnostics);
}

/// `canary_listener` and `bluegreen_canary_listener` share one process's claims: two canaries on one listener
/// priority are refused whichever names they use.
#[tokio::test(start_paused = true)]
async fn both_canary_names_share_the_priority_claims() {
    let tf = Terraform::new("bluegreen_canary_listener", Proposal::DropsRemovedSingleBlocks);
    let p = tf.provider();
    let plan = |name: &'static str, config: Value| {
        let p = &p;
        let ty = tf.ty.clone();
        async move {
            p.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: name.into(),
                prior_state: Some(dv(&Value::Null, &ty)),
                proposed_new_state: Some(dv(&config, &ty)),
                config: Some(dv(&config, &ty)),
                ..Default::default()
            }))
            .await
            .expect("answers")
            .into_inner()
        }
    };
    let first = plan("canary_listener", tf.config(canary_config(json!({}))));
    assert!(errors(&first.await.diagnostics).is_empty());
    let second = plan(
        "bluegreen_canary_listener",
        tf.config(canary_config(json!({"green_target_group_arn": TG_BLUE, "blue_target_group_arn": TG_GREEN}))),
    );
    let errs = errors(&second.await.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("Two canaries on one listener priority: Priority 100 on listener"), "{errs:?}");
}

// ---------------------------------------------------------------------------
// Terraform ≥ 1.14: list resources, GenerateResourceConfig (issue 21)
// ---------------------------------------------------------------------------

/// Lists through the generated client, as Terraform does: the events it receives before it stops.
async fn list_events(
    p: BlueGreenProvider,
    type_name: &str,
    config: Value,
    include: bool,
    limit: i64,
    take: usize,
) -> Vec<pb::list_resource::Event> {
    use futures::StreamExt;
    let schema = bluegreen_provider::list::schemas().into_iter().find(|(n, _)| *n == type_name).expect("a list schema").1;
    let request = pb::list_resource::Request {
        type_name: type_name.into(),
        config: Some(dv(&config, &schema.implied_type())),
        include_resource_object: include,
        limit,
    };
    let stream = p.list_resource(Request::new(request)).await.expect("answers").into_inner();
    stream.take(take).map(|e| e.expect("an event")).collect().await
}

/// Three canaries on one listener: the list finds their rules with one DescribeRules, reads each resource object only
/// when the stream reaches it (one more DescribeRules each), honours `limit`, and a stream Terraform stops reading
/// makes no further call. The resource object is the state an import by id gives, and the generated configuration
/// leaves out what the provider computes or defaults.
#[tokio::test(start_paused = true)]
async fn listing_canaries_reads_lazily_honours_the_limit_and_generates_configuration() {
    let tf = Terraform::new("bluegreen_canary_listener", Proposal::DropsRemovedSingleBlocks);
    let mut states = Vec::new();
    for (priority, traffic) in [(100, 10), (200, 0), (300, 50)] {
        let route = json!({"header_name": "X-Canary", "header_values": ["1"]});
        let config = tf.config(canary_config(json!({"priority": priority, "traffic": traffic, "test_route": route})));
        states.push(tf.converge(&Value::Null, &config, "create").await);
    }
    let config = Value::object([("listener_arn", Value::string(LISTENER))]);
    let calls = tf.elb.calls("DescribeRules");
    let names = tf.provider();
    let events = list_events(names, "bluegreen_canary_listener", config.clone(), false, 100, usize::MAX).await;
    assert_eq!(tf.elb.calls("DescribeRules"), calls + 1, "one read finds them all");
    let shown: Vec<&str> = events.iter().map(|e| e.display_name.as_str()).collect();
    assert_eq!(
        shown,
        [
            "priority 100 (every request) — 10 % green, with a test route",
            "priority 200 (every request) — 0 % green, with a test route",
            "priority 300 (every request) — 50 % green, with a test route"
        ]
    );
    for (e, s) in events.iter().zip(&states) {
        let id = identity_of("bluegreen_canary_listener", e.identity.as_ref()).expect("an identity");
        assert_eq!(id.get_attr("rule_arn"), s.get_attr("rule_arn"));
        assert_eq!(id.get_attr("test_rule_arn"), s.get_attr("test_rule_arn"));
        assert!(e.resource_object.is_none(), "not asked for");
    }

    // With objects: the listing's read, then each object's reads (k per object, as an import reads it).
    let calls = tf.elb.calls("DescribeRules");
    let all = list_events(tf.provider(), "bluegreen_canary_listener", config.clone(), true, 100, usize::MAX).await;
    assert_eq!(all.len(), 3);
    let k = (tf.elb.calls("DescribeRules") - calls - 1) / 3;
    assert!(k >= 1 && tf.elb.calls("DescribeRules") == calls + 1 + 3 * k, "one read to find, k per object");
    // Limit 2: two events, no third object read.
    let calls = tf.elb.calls("DescribeRules");
    let events = list_events(tf.provider(), "bluegreen_canary_listener", config.clone(), true, 2, usize::MAX).await;
    assert_eq!(events.len(), 2);
    assert_eq!(tf.elb.calls("DescribeRules"), calls + 1 + 2 * k);
    let object = msgpack::decode(&events[0].resource_object.as_ref().expect("an object").msgpack, &tf.ty).expect("decodes");
    let rule = states[0].get_attr("rule_arn").and_then(Value::as_str).unwrap().to_string();
    let test = states[0].get_attr("test_rule_arn").and_then(Value::as_str).unwrap().to_string();
    assert_eq!(tf.refresh(&object).await, tf.import(&format!("{rule},{test}")).await, "the object is what import reads");

    // Terraform stops after one event: the stream is dropped, no further object is read.
    let calls = tf.elb.calls("DescribeRules");
    let events = list_events(tf.provider(), "bluegreen_canary_listener", config, true, 100, 1).await;
    assert_eq!(events.len(), 1);
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(tf.elb.calls("DescribeRules"), calls + 1 + k, "nothing read past what Terraform took");

    // GenerateResourceConfig: no computed-only attribute, no default; what a user sets stays.
    let generated = tf
        .provider()
        .generate_resource_config(Request::new(pb::generate_resource_config::Request {
            type_name: "bluegreen_canary_listener".into(),
            state: Some(dv(&object, &tf.ty)),
        }))
        .await
        .expect("answers")
        .into_inner();
    assert!(errors(&generated.diagnostics).is_empty(), "{:?}", generated.diagnostics);
    let config = msgpack::decode(&generated.config.expect("a config").msgpack, &tf.ty).expect("decodes");
    for computed in
        ["id", "rule_arn", "test_rule_arn", "blue_weight", "green_weight", "active", "shifted_at", "on_destroy", "on_gate_failure"]
    {
        assert_eq!(config.get_attr(computed), Some(&Value::Null), "{computed}: {config:?}");
    }
    for kept in ["listener_arn", "priority", "blue_target_group_arn", "green_target_group_arn", "traffic", "test_route"] {
        assert_eq!(config.get_attr(kept), object.get_attr(kept), "{kept}");
    }
    // Planned from that configuration over the imported state: no change.
    let refreshed = tf.refresh(&object).await;
    assert_eq!(tf.plan(&refreshed, &config).await.expect("plans"), refreshed);
}

/// The switch list: the zone's weighted pairs (one listing), named and shown with green's share; `name_regex` and
/// `pointing_at` narrow it, the resource objects come from the same listing.
#[tokio::test(start_paused = true)]
async fn listing_switches_finds_the_pairs_of_the_zone() {
    let tf = Terraform::new("bluegreen_switch", Proposal::DropsRemovedSingleBlocks);
    for (name, traffic) in [("api.example.com", 25), ("www.example.com", 0)] {
        tf.converge(&Value::Null, &tf.config(switch_config(json!({"name": name, "traffic": traffic}))), "create").await;
    }
    let config = |regex: Option<&str>, at: Option<&str>| {
        Value::object([
            ("zone_id", Value::string(ZONE)),
            ("name_regex", regex.map_or(Value::Null, Value::string)),
            ("pointing_at", at.map_or(Value::Null, Value::string)),
        ])
    };
    let lists = tf.r53.calls("ListResourceRecordSets");
    let events = list_events(tf.provider(), "bluegreen_switch", config(None, None), true, 100, usize::MAX).await;
    let shown: Vec<&str> = events.iter().map(|e| e.display_name.as_str()).collect();
    assert_eq!(shown, ["api.example.com A — 25 % green", "www.example.com A — 0 % green"]);
    assert_eq!(tf.r53.calls("ListResourceRecordSets"), lists + 1, "one listing serves the list and both objects");
    let id = identity_of("bluegreen_switch", events[0].identity.as_ref()).unwrap();
    assert_eq!(id.get_attr("blue_set_identifier").and_then(Value::as_str), Some("blue"));
    assert!(events.iter().all(|e| e.resource_object.is_some()));
    let only_www = list_events(tf.provider(), "bluegreen_switch", config(Some("^www\\."), None), false, 100, usize::MAX).await;
    assert_eq!(only_www.len(), 1);
    let legacy = list_events(
        tf.provider(),
        "bluegreen_switch",
        config(None, Some("dualstack.LEGACY-1.us-east-1.elb.amazonaws.com.")),
        false,
        100,
        usize::MAX,
    )
    .await;
    assert_eq!(legacy.len(), 2, "both pairs have blue on the legacy ALB");
    let none = list_events(tf.provider(), "bluegreen_switch", config(None, Some("elsewhere.example.net")), false, 100, usize::MAX).await;
    assert!(none.is_empty());

    // A bad regular expression is refused at validation, pointing at it.
    let schema = bluegreen_provider::list::schemas().into_iter().find(|(n, _)| *n == "bluegreen_switch").unwrap().1;
    let v = tf
        .provider()
        .validate_list_resource_config(Request::new(pb::validate_list_resource_config::Request {
            type_name: "bluegreen_switch".into(),
            config: Some(dv(&config(Some("(unclosed"), None), &schema.implied_type())),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert_eq!(errors(&v.diagnostics).len(), 1, "{:?}", v.diagnostics);
    assert!(errors(&v.diagnostics)[0].starts_with("Invalid regular expression"));
}

// ---------------------------------------------------------------------------
// Terraform ≥ 1.14: the bluegreen_gate_check action (issue 21 point 5)
// ---------------------------------------------------------------------------

/// What InvokeAction streamed: the progress messages, and the Completed event's diagnostics (exactly one, last).
async fn invoke_gate_check(p: BlueGreenProvider, config: &Value) -> (Vec<String>, Vec<pb::Diagnostic>) {
    use futures::StreamExt;
    use pb::invoke_action::event::Type;
    let schema = bluegreen_provider::action::schemas().remove(0).1;
    let request = pb::invoke_action::Request {
        action_type: "bluegreen_gate_check".into(),
        config: Some(dv(config, &schema.implied_type())),
        ..Default::default()
    };
    let events: Vec<_> = p.invoke_action(Request::new(request)).await.expect("answers").into_inner().collect().await;
    let (mut progress, mut completed) = (Vec::new(), Vec::new());
    for (i, e) in events.iter().enumerate() {
        match e.as_ref().expect("an event").r#type.clone().expect("typed") {
            Type::Progress(p) => progress.push(p.message),
            Type::Completed(c) => {
                assert_eq!(i, events.len() - 1, "Completed comes last");
                completed.push(c.diagnostics);
            }
        }
    }
    assert_eq!(completed.len(), 1, "one Completed event: {events:?}");
    (progress, completed.remove(0))
}

fn gate_check_config(target: serde_json::Value, gate: serde_json::Value, since: Option<&str>) -> Value {
    let schema = bluegreen_provider::action::schemas().remove(0).1;
    let mut j = json!({"health_gate": gate, "since": since});
    for (k, v) in target.as_object().expect("object") {
        j[k] = v.clone();
    }
    typed::json_to_value(&j, &schema.implied_type()).expect("a configuration of the action's schema")
}

fn warnings(d: &[pb::Diagnostic]) -> Vec<String> {
    d.iter().filter(|d| d.severity == pb::diagnostic::Severity::Warning as i32).map(|d| format!("{}: {}", d.summary, d.detail)).collect()
}

/// The action is served (GetMetadata, GetProviderSchema); ValidateActionConfig and PlanAction refuse what cannot be
/// checked, pointing at it; InvokeAction on a canary at 10 % streams one message per verdict, passes while the alarm
/// is OK, fails on an ALARM in its history since `since` (though OK now), judges only "now" without `since` (a
/// warning says so), and writes nothing.
#[tokio::test(start_paused = true)]
async fn the_gate_check_action_validates_plans_and_streams_its_verdicts_without_writing() {
    use bluegreen_core::aws::cloudwatch::AlarmStateValue;
    let tf = Terraform::new("bluegreen_canary_listener", Proposal::DropsRemovedSingleBlocks);
    let p = tf.provider();
    let meta = p.get_metadata(Request::new(pb::get_metadata::Request {})).await.unwrap().into_inner();
    assert_eq!(meta.actions.iter().map(|a| a.type_name.as_str()).collect::<Vec<_>>(), ["bluegreen_gate_check"]);
    let schemas = p.get_provider_schema(Request::new(pb::get_provider_schema::Request {})).await.unwrap().into_inner();
    let served = schemas.action_schemas.get("bluegreen_gate_check").and_then(|a| a.schema.as_ref()).expect("served");
    let mut blocks: Vec<_> = served.block.as_ref().unwrap().block_types.iter().map(|b| b.type_name.as_str()).collect();
    blocks.sort_unstable();
    assert_eq!(blocks, ["canary", "health_gate", "switch"]);

    tf.cw.set_alarm("green-5xx", AlarmStateValue::Ok, "fine");
    let state = tf.converge(&Value::Null, &tf.config(canary_config(json!({"traffic": 10}))), "create").await;
    let rule = state.get_attr("rule_arn").and_then(Value::as_str).unwrap().to_string();
    let shifted_at = state.get_attr("shifted_at").and_then(Value::as_str).unwrap().to_string();
    let canary = json!({"canary": {"rule_arn": rule}});
    let gate = json!({"cloudwatch_alarms": ["green-5xx"]});
    let good = gate_check_config(canary.clone(), gate.clone(), Some(&shifted_at));
    let schema = bluegreen_provider::action::schemas().remove(0).1;

    // Validation and plan.
    let validate = |config: Value| {
        let p = tf.provider();
        let ty = schema.implied_type();
        async move {
            p.validate_action_config(Request::new(pb::validate_action_config::Request {
                type_name: "bluegreen_gate_check".into(),
                config: Some(dv(&config, &ty)),
            }))
            .await
            .expect("answers")
            .into_inner()
            .diagnostics
        }
    };
    assert!(validate(good.clone()).await.is_empty());
    let both = gate_check_config(
        json!({"canary": {"rule_arn": rule}, "switch": {"zone_id": ZONE, "name": "api.example.com"}}),
        gate.clone(),
        None,
    );
    assert_eq!(
        errors(&validate(both).await),
        ["Conflicting blocks: Name one resource to check: a switch block or a canary block, not both."]
    );
    let no_gate = gate_check_config(canary.clone(), serde_json::Value::Null, None);
    assert_eq!(errors(&validate(no_gate).await).len(), 1);
    let future = validate(gate_check_config(canary.clone(), gate.clone(), Some("2999-01-01T00:00:00Z"))).await;
    assert_eq!(errors(&future), ["Invalid since: 2999-01-01T00:00:00Z is in the future; pass the resource's shifted_at."]);
    assert_eq!(future[0].attribute.as_ref().map(|a| a.steps.len()), Some(1), "points at since");
    let planned = tf
        .provider()
        .plan_action(Request::new(pb::plan_action::Request {
            action_type: "bluegreen_gate_check".into(),
            config: Some(dv(&good, &schema.implied_type())),
            ..Default::default()
        }))
        .await
        .expect("answers")
        .into_inner();
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);

    let writes = || ["CreateRule", "ModifyRule", "DeleteRule", "SetRulePriorities", "ModifyListener", "AddTags"].map(|op| tf.elb.calls(op));
    let before = writes();
    let rule_before = tf.import(&rule).await;

    // Passing: the alarm OK, nothing in its history since the step.
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    let (progress, done) = invoke_gate_check(tf.provider(), &good).await;
    assert!(done.is_empty(), "{done:?}");
    assert_eq!(
        progress[0],
        format!(
            "bluegreen_canary_listener rule {}: 10 % green (weights blue 90, green 10)",
            rule.split_once("listener-rule/app/").unwrap().1
        )
    );
    assert_eq!(progress[1], format!("judging now and since {shifted_at}, when this split was reached"));
    assert!(progress.contains(&"pass: alarms: green-5xx OK".to_string()), "{progress:?}");
    assert!(progress.contains(&format!("pass: no alarm in ALARM since {shifted_at}, when this split was reached")), "{progress:?}");
    assert!(
        progress.contains(&"pass: target group ecs: 2 of 2 targets healthy".to_string()),
        "the canary's own green target group: {progress:?}"
    );
    assert!(progress.last().unwrap().starts_with("verdict: the gate passes"), "{progress:?}");

    // Overnight the alarm fired and cleared: OK now, the history refuses the next increase.
    tf.cw.set_alarm("green-5xx", AlarmStateValue::Alarm, "5xx");
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    tf.cw.set_alarm("green-5xx", AlarmStateValue::Ok, "fine");
    let (progress, done) = invoke_gate_check(tf.provider(), &good).await;
    let errs = errors(&done);
    assert_eq!(errs.len(), 1, "{done:?}");
    assert!(errs[0].starts_with("Gate check failed: CloudWatch alarm history: alarm \"green-5xx\" went to ALARM at "), "{errs:?}");
    let short = rule.split_once("listener-rule/app/").unwrap().1;
    assert!(
        errs[0].ends_with(&format!("; it is OK now. The next increase of rule {short} would be refused; nothing was changed.")),
        "{errs:?}"
    );
    assert!(!progress.iter().any(|m| m.starts_with("verdict: the gate passes")), "{progress:?}");

    // Without since: only now is judged (the alarm is OK), and a warning says so.
    let (progress, done) = invoke_gate_check(tf.provider(), &gate_check_config(canary, gate, None)).await;
    assert!(errors(&done).is_empty(), "{done:?}");
    assert_eq!(warnings(&done).len(), 1, "{done:?}");
    assert!(progress.iter().any(|m| m.starts_with("since: unknown (no since given")), "{progress:?}");

    // A value known only after an apply (since, while the resource changes in the same run) is refused at invoke,
    // never judged as "no since".
    let mut unknown = good.clone();
    if let Value::Object(m) = &mut unknown {
        m.insert("since".into(), Value::Unknown);
    }
    let (progress, done) = invoke_gate_check(tf.provider(), &unknown).await;
    assert!(progress.is_empty(), "{progress:?}");
    assert_eq!(errors(&done).len(), 1, "{done:?}");
    assert!(errors(&done)[0].starts_with("Gate check configuration not known"), "{done:?}");

    // Nothing was written, and the rule is as it was.
    assert_eq!(writes(), before);
    // (An import stamps shifted_at with its own time: AWS does not keep it.)
    let without_clock = |v: Value| match v {
        Value::Object(mut m) => {
            m.remove("shifted_at");
            m
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(without_clock(tf.import(&rule).await), without_clock(rule_before));
}
