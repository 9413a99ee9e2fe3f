//! `action "bluegreen_gate_check"` (Terraform ≥ 1.14, `terraform apply -invoke=action.bluegreen_gate_check.x`): judges
//! a switch's or canary's health gate as its next increase would — now, and over the time since its split was reached —
//! and streams each verdict as a progress message. It changes nothing: it reads the split in effect as an import reads
//! it, then only reads CloudWatch, target health and green's `http_check` URL.
//!
//! `shifted_at` lives only in Terraform state (AWS does not keep when a weight was written), so the time since the
//! step was reached comes from `since` (users pass the resource's `shifted_at`); without it only "now" is judged, and
//! the verdict says so.

use std::time::SystemTime;

use bluegreen_core::gate::{AtSplit, AwsGateProbe, CheckPoint};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::data_sources::patterns;
use crate::diag::{attr_path, Diagnostics};
use crate::resource::{Ctx, Resource};
use crate::resources::common::{self, GateDefaults, GateOwner, HealthGateModel};
use crate::schema::{self, Schema};
use crate::typed::{self, Val};
use crate::value::{Path, Value};

/// The one action's type name.
pub const GATE_CHECK: &str = "bluegreen_gate_check";

/// `action "bluegreen_gate_check" "…" { config { … } }`: judges a switch's or canary's health gate as its next
/// increase would, now and since its step was reached, streaming each verdict; changes nothing.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct GateCheckConfig {
    /// The `bluegreen_switch` whose gate is judged, by its identity. Exactly one of `switch` and `canary`.
    #[serde(default)]
    pub switch: Option<SwitchTarget>,
    /// The `bluegreen_canary_listener` whose gate is judged, by its weighted rule. Exactly one of `switch` and `canary`.
    #[serde(default)]
    pub canary: Option<CanaryTarget>,
    /// The gate to judge: the same block, with the same values, as the resource's `health_gate` (a block cannot be
    /// referenced from a resource; keep the values in a local and use it in both places). `dns_failover` is a setting
    /// of the switch and is not judged here. Required.
    #[serde(default)]
    pub health_gate: Option<HealthGateModel>,
    /// When the split in effect was reached, RFC 3339: pass the resource's `shifted_at` (e.g.
    /// `bluegreen_switch.api.shifted_at`). AWS does not record it, so without `since` only the gate's state now is
    /// judged (alarm history and metrics over the time at the split are not), and the check says so.
    #[serde(default)]
    pub since: Val<String>,
}

/// A switch, named as its identity names it.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SwitchTarget {
    /// Id of the switch's hosted zone.
    #[schemars(regex(pattern = patterns::ZONE_ID), extend("x-pattern-hint" = "be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\""))]
    pub zone_id: Val<String>,
    /// The switched DNS name.
    #[schemars(length(min = 1, max = 255))]
    pub name: Val<String>,
    /// Record type: `A`, `AAAA` or `CNAME`. Defaults to `A`.
    #[serde(default)]
    #[schemars(regex(pattern = "^(A|AAAA|CNAME)$"), extend("default" = "A", "x-pattern-hint" = "be one of \"A\", \"AAAA\", \"CNAME\""))]
    pub r#type: Val<String>,
    /// Set identifier of the blue record. Defaults to `blue`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 128), extend("default" = "blue"))]
    pub blue_set_identifier: Val<String>,
    /// Set identifier of the green record. Defaults to `green`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 128), extend("default" = "green"))]
    pub green_set_identifier: Val<String>,
}

/// A canary, named by its weighted rule.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct CanaryTarget {
    /// ARN of the canary's weighted forward rule (`bluegreen_canary_listener.x.rule_arn`).
    #[schemars(length(min = 1))]
    pub rule_arn: Val<String>,
}

/// The action schemas served.
pub fn schemas() -> Vec<(&'static str, Schema)> {
    vec![(GATE_CHECK, Schema::of::<GateCheckConfig>(0))]
}

/// Validates a `config` (ValidateActionConfig, and again at plan and invoke): the schema's constraints, exactly one
/// target, a gate, a readable `since` not in the future, and the gate's own rules.
pub fn validate(schema: &Schema, config: &Value) -> (Option<GateCheckConfig>, Diagnostics) {
    let mut diags = Diagnostics::new();
    schema::validate(&schema.block, config, &Path::default(), &mut diags);
    let mut config = config.clone();
    schema::apply_defaults(&schema.block, &mut config);
    let c = match typed::decode::<GateCheckConfig>(&config) {
        Ok(c) => c,
        Err(_) if diags.has_errors() => return (None, diags),
        Err(e) => {
            diags.bug(format!("action configuration does not match the schema: {e}"));
            return (None, diags);
        }
    };
    match (&c.switch, &c.canary) {
        (Some(_), Some(_)) => diags.error_at(
            attr_path(&["canary"]),
            "Conflicting blocks",
            "Name one resource to check: a switch block or a canary block, not both.",
        ),
        (None, None) => diags.error(
            "Missing block",
            "A gate check needs the resource whose gate it judges: add a switch block (zone_id, name, …) or a canary \
             block (rule_arn).",
        ),
        _ => {}
    }
    match &c.health_gate {
        None => diags.error(
            "Missing health_gate",
            "A gate check judges a health_gate block: add one with the same values as the resource's health_gate.",
        ),
        Some(g) => {
            let owner = if c.canary.is_some() { GateOwner::Canary } else { GateOwner::Switch };
            let mut g = g.clone();
            // dns_failover acts between applies through Route 53; nothing about it is judged here.
            g.dns_failover = Val::Null;
            common::validate_gate(&g, &attr_path(&["health_gate"]), owner, &mut diags);
        }
    }
    if let Some(s) = c.since.known() {
        match bluegreen_core::clock::parse(s) {
            Err(e) => diags.error_at(attr_path(&["since"]), "Invalid since", format!("{s:?} is not an RFC 3339 time: {e}.")),
            Ok(t) if t > bluegreen_core::clock::now() => {
                diags.error_at(attr_path(&["since"]), "Invalid since", format!("{s} is in the future; pass the resource's shifted_at."))
            }
            Ok(_) => {}
        }
    }
    (Some(c), diags)
}

/// What an invocation streams: one message per verdict, then the outcome.
pub struct Verdicts {
    pub progress: Vec<String>,
    pub outcome: Diagnostics,
}

/// Runs the check. Reads only.
pub async fn invoke(ctx: &Ctx, resources: &[std::sync::Arc<dyn Resource>], c: GateCheckConfig) -> Verdicts {
    let mut progress = Vec::new();
    let mut outcome = Diagnostics::new();
    let Some(model) = c.health_gate else { return Verdicts { progress, outcome } };
    // 1. The split in effect, read as an import reads the resource.
    let (type_name, identity) = match (&c.switch, &c.canary) {
        (Some(s), _) => (
            "bluegreen_switch",
            Value::object([
                ("zone_id", text(&s.zone_id)),
                ("name", text(&s.name)),
                ("type", text(&s.r#type)),
                ("blue_set_identifier", text(&s.blue_set_identifier)),
                ("green_set_identifier", text(&s.green_set_identifier)),
            ]),
        ),
        (None, Some(k)) => ("bluegreen_canary_listener", Value::object([("rule_arn", text(&k.rule_arn)), ("test_rule_arn", Value::Null)])),
        (None, None) => return Verdicts { progress, outcome },
    };
    let (Some(def), Some(resource)) = (crate::identity::of(type_name), resources.iter().find(|r| r.type_name() == type_name)) else {
        outcome.bug(format!("no resource {type_name}"));
        return Verdicts { progress, outcome };
    };
    let state = match def.import_id(type_name, &identity) {
        Ok(id) => match resource.import(ctx, &id).await {
            Ok((state, _)) => state,
            Err(d) => {
                outcome.extend(d);
                return Verdicts { progress, outcome };
            }
        },
        Err(d) => {
            outcome.extend(d);
            return Verdicts { progress, outcome };
        }
    };
    let weight = |n: &str| state.get_attr(n).and_then(Value::as_i64);
    let (blue, green) = (weight("blue_weight"), weight("green_weight"));
    let what = match (&c.switch, &c.canary) {
        (Some(s), _) => format!("{} {}", s.name.known().map_or("", String::as_str), s.r#type.known().map_or("", String::as_str)),
        _ => format!("rule {}", c.canary.as_ref().and_then(|k| k.rule_arn.known()).map_or("", |a| short_arn(a))),
    };
    let percent = match (blue, green) {
        (Some(b), Some(g)) if b + g > 0 => format!("{} % green (weights blue {b}, green {g})", g * 100 / (b + g)),
        (Some(b), Some(g)) => format!("weights blue {b}, green {g}"),
        _ => "split unknown".to_string(),
    };
    progress.push(format!("{type_name} {what}: {percent}"));
    if green.is_some() && blue == Some(0) {
        progress.push("green already takes all traffic: there is no next increase; the gate is judged anyway".to_string());
    }
    // 2. The gate, with the resource's defaults.
    let str_attr = |n: &str| state.get_attr(n).and_then(Value::as_str).map_or(Val::Null, |s| Val::Known(s.to_string()));
    let defaults = if c.canary.is_some() {
        GateDefaults::canary(&str_attr("listener_arn"), &str_attr("green_target_group_arn"), &str_attr("blue_target_group_arn"))
    } else {
        GateDefaults::switch()
    };
    let mut model = model;
    model.dns_failover = Val::Null;
    common::complete_gate(&mut model, c.canary.is_some());
    let mut setup = Diagnostics::new();
    common::check_gate_setup(Some(ctx), true, Some(&model), &defaults, &mut setup).await;
    if setup.has_errors() {
        for d in setup.iter() {
            progress.push(format!("{}: {}", d.summary, d.detail));
        }
        outcome.extend(setup);
        return Verdicts { progress, outcome };
    }
    let gate = match common::gate(Some(&model), &defaults) {
        Ok(Some(g)) => g,
        Ok(None) => return Verdicts { progress, outcome },
        Err(d) => {
            outcome.extend(d);
            return Verdicts { progress, outcome };
        }
    };
    // 3. Since when.
    let reached: Option<SystemTime> = c.since.known().and_then(|s| bluegreen_core::clock::parse(s).ok());
    match gate.window(reached) {
        Some(w) => progress.push(format!("judging now and {}", w.words())),
        None => progress.push(
            "since: unknown (no since given; pass the resource's shifted_at): only the gate's state now is judged, not the \
             alarm history or metrics since the step was reached"
                .to_string(),
        ),
    }
    // 4. The verdicts.
    let probe = AwsGateProbe::new(&ctx.clients);
    let split = reached.map(|reached| AtSplit { reached, whole_metrics: true });
    match gate.evaluate_since(&probe, CheckPoint::BeforeFirstIncrease, split).await {
        Ok(seen) => {
            progress.extend(seen.into_iter().map(|s| format!("pass: {s}")));
            progress.push(format!("verdict: the gate passes; the next increase of {what} may go ahead"));
            if reached.is_none() {
                outcome.warning(
                    "Gate judged now only",
                    "since was not given, so the time since the step was reached was not judged; pass the resource's shifted_at.",
                );
            }
        }
        Err(f) => {
            // Terraform prints the failure once on its "Action failed" line and again as the error: not a third time.
            outcome.error(
                format!("Gate check failed: {}", f.gate),
                format!("{}{}. The next increase of {what} would be refused; nothing was changed.", f.observation, f.step_suffix()),
            );
        }
    }
    Verdicts { progress, outcome }
}

fn text(v: &Val<String>) -> Value {
    v.known().map_or(Value::Null, |s| Value::String(s.clone()))
}

/// `…:listener-rule/app/<lb>/<id>/<id>/<rule id>` → `<lb>/…/<rule id>` for messages.
fn short_arn(arn: &str) -> &str {
    arn.split_once("listener-rule/app/").map_or(arn, |(_, r)| r)
}
