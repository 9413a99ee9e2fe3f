//! Fuzzing on stable Rust: seeded, deterministic loops over everything that
//! reads bytes Terraform (or a stored state) hands the provider.
//!
//! Targets (one `#[test]` each, so libtest runs them in parallel):
//! - `msgpack_values`: byte mutations of real encodings of every schema's
//!   values, decoded against that schema (and as `dynamic`);
//! - `json_state`: the same for the JSON of stored state (UpgradeResourceState);
//! - `type_json`: the cty type JSON a `dynamic` value carries;
//! - `config_models`: schema-shaped configurations with hostile leaves
//!   (extreme numbers, odd strings, unknowns anywhere), through the server's
//!   ValidateResourceConfig / ValidateDataResourceConfig /
//!   ValidateProviderConfig and PlanResourceChange (create and update), the
//!   typed models and the provider block's settings;
//! - `server_bytes`: mutated and random bytes into every entry point that
//!   decodes a DynamicValue or raw state (validate, plan, upgrade, read,
//!   import), the provider configured with in-memory AWS fakes;
//! - `plan_edits`: a create from one corpus configuration and an update to
//!   another, each edited down at random (optional attributes and blocks
//!   dropped), with the proposed new state of Terraform 1.0 or of newer
//!   versions; plans judged by Terraform's own rules and planned again;
//! - `depth`: hostile nesting (100 000 levels) in every decoder.
//!
//! Oracles beyond "no panic": a decoded value re-encodes and decodes to
//! itself; a well-typed configuration never produces a "Provider bug"
//! diagnostic; a plan without errors carries a state of the schema's type
//! that Terraform would accept (`plancheck::assert_plan_valid`, Terraform's
//! own rules, with the proposed new state built the way 1.0 and the newer
//! versions build it); a state returned without errors decodes.
//!
//! `BLUEGREEN_FUZZ_ITERS` sets the iterations per target (default 2 000: about
//! 5 s for all targets in a debug build), `BLUEGREEN_FUZZ_SEED` the seed (each
//! target derives its own from it). `make fuzz` runs long (100 000 per target).
//! A failure prints the target, seed, iteration and the input (bytes as a Rust
//! literal) for a regression test; `regressions` below holds what was found.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use bluegreen_core::aws::elbv2::Forward;
use bluegreen_core::aws::AwsClients;
use bluegreen_core::testing::{FakeElbv2, FakeRoute53};
use bluegreen_provider::config::ProviderConfig;
use bluegreen_provider::diag::Diagnostics;
use bluegreen_provider::plancheck::{self, proposed_new, Proposal};
use bluegreen_provider::proto::tfplugin6 as pb;
use bluegreen_provider::proto::tfplugin6::provider_server::Provider;
use bluegreen_provider::schema::{Block, Nesting};
use bluegreen_provider::server::BlueGreenProvider;
use bluegreen_provider::typed;
use bluegreen_provider::value::{json, msgpack, Number, Type, Value};
use tonic::Request;

// ---------------------------------------------------------------------------
// Knobs and randomness
// ---------------------------------------------------------------------------

const DEFAULT_ITERS: usize = 2_000;
const DEFAULT_SEED: u64 = 0xb1e6_2ee0_5eed_0007;

fn iterations() -> usize {
    std::env::var("BLUEGREEN_FUZZ_ITERS").ok().and_then(|s| s.trim().replace('_', "").parse().ok()).unwrap_or(DEFAULT_ITERS)
}

fn base_seed() -> u64 {
    std::env::var("BLUEGREEN_FUZZ_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            s.strip_prefix("0x").map_or_else(|| s.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
        })
        .unwrap_or(DEFAULT_SEED)
}

/// SplitMix64: tiny, seedable, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn for_target(name: &str) -> (Rng, u64) {
        let mut h = base_seed();
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (Rng(h), h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

// ---------------------------------------------------------------------------
// The loop: every input is checked inside catch_unwind; a panic is reported
// with the input that caused it.
// ---------------------------------------------------------------------------

/// Bytes shown as a Rust literal, ready to paste into a regression test.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("&[")?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "0x{b:02x}")?;
        }
        f.write_str("]")
    }
}

/// Runs `iters` rounds of `round` (which gets the RNG and the round number,
/// and returns a description of its input for the report if it panics).
fn fuzz(target: &str, round: impl FnMut(&mut Rng, usize, &mut String)) {
    fuzz_n(target, iterations(), round)
}

thread_local! {
    /// Set while a round runs: its panics are caught and reported with the input, so the default hook's
    /// message (and backtrace) would only be noise.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn quiet_panics_in_rounds() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                default(info);
            }
        }));
    });
}

fn fuzz_n(target: &str, iters: usize, mut round: impl FnMut(&mut Rng, usize, &mut String)) {
    quiet_panics_in_rounds();
    let (mut rng, seed) = Rng::for_target(target);
    let started = Instant::now();
    let mut input = String::new();
    for i in 0..iters {
        input.clear();
        QUIET.with(|q| q.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| round(&mut rng, i, &mut input)));
        QUIET.with(|q| q.set(false));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-string panic)".into());
            panic!(
                "fuzz target {target} failed at iteration {i} (BLUEGREEN_FUZZ_SEED={:#x}, target seed {seed:#x}): {message}\ninput:\n{input}",
                base_seed()
            );
        }
    }
    println!("fuzz {target}: {iters} iterations in {:.2?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// The provider's schemas and a realistic corpus
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum What {
    Provider,
    Resource,
    DataSource,
}

#[derive(Clone)]
struct Kind {
    name: &'static str,
    what: What,
    block: Block,
    ty: Type,
}

fn kinds() -> Vec<Kind> {
    let p = BlueGreenProvider::new();
    let mut out = vec![Kind {
        name: "provider",
        what: What::Provider,
        block: p.provider_schema().block.clone(),
        ty: p.provider_schema().implied_type(),
    }];
    for r in p.resources() {
        out.push(Kind { name: r.type_name(), what: What::Resource, block: r.schema().block.clone(), ty: r.schema().implied_type() });
    }
    for d in p.data_sources() {
        out.push(Kind { name: d.type_name(), what: What::DataSource, block: d.schema().block.clone(), ty: d.schema().implied_type() });
    }
    out
}

const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/legacy/0123456789abcdef/0123456789abcdef";
const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/legacy/0123456789abcdef";
const TG_BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/legacy/0123456789abcdef";
const TG_GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ecs/fedcba9876543210";
const RULE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/legacy/0123456789abcdef/0123456789abcdef/aaaa";
const ZONE: &str = "Z0123456789ABCDEFGHIJ";

/// Configurations and states as a user would write them, per kind (JSON
/// objects; missing attributes are null). Unknowns are the typed layer's marker.
fn corpus_json(name: &str) -> Vec<serde_json::Value> {
    use serde_json::json;
    let unknown = json!({"$bluegreen:unknown": true});
    match name {
        "provider" => vec![
            json!({}),
            json!({"region": "us-east-1", "max_retries": 3}),
            json!({"region": "eu-west-1", "profile": "prod", "access_key": "AKIAEXAMPLE", "secret_key": "secret",
                   "assume_role": {"role_arn": "arn:aws:iam::123456789012:role/cutover", "session_name": "tf", "external_id": "ext"},
                   "endpoints": {"route53": "http://127.0.0.1:4566", "elbv2": "https://elb.example.net", "sts": "http://[::1]:4566/"}}),
            json!({"access_key": unknown, "secret_key": "x", "endpoints": {"route53": unknown}}),
        ],
        "bluegreen_switch" => vec![
            json!({"zone_id": ZONE, "name": "api.example.com", "blue": {"records": ["203.0.113.10"]},
                   "green": {"records": ["203.0.113.20", "203.0.113.21"], "ttl": 30}, "traffic": 0}),
            json!({"zone_id": ZONE, "name": "API.Example.com.", "type": "CNAME",
                   "blue": {"set_identifier": "old", "records": ["legacy.example.net"]},
                   "green": {"set_identifier": "new", "records": ["green.example.net"]}, "traffic": 50,
                   "rollout": {"steps": [10, 25, 50], "bake_time": "5m"}, "on_gate_failure": "halt",
                   "adopt_existing": true, "on_destroy": "delete", "wait_for_sync": false, "sync_timeout": "10m"}),
            json!({"zone_id": "/hostedzone/ZABC", "name": "www.example.com", "type": "AAAA",
                   "blue": {"alias": {"name": "legacy-1.us-east-1.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K"}},
                   "green": {"alias": {"name": "green.elb.amazonaws.com", "zone_id": "Z35SXDOTRQ7X7K", "evaluate_target_health": false}},
                   "traffic": 100,
                   "health_gate": {"target_group_arns": [TG_GREEN], "min_healthy_targets": 2,
                                   "http_check": {"url": "https://green.example.net/healthz", "host_header": "api.example.com",
                                                  "expect_status": [200, 204], "insecure_tls": true, "timeout": "2s"}}}),
            json!({"zone_id": unknown, "name": unknown, "blue": {"records": unknown}, "green": {"alias": {"name": unknown, "zone_id": "Z1"}},
                   "traffic": unknown, "rollout": {"steps": [10, unknown]}}),
            // A state, as apply writes it.
            json!({"zone_id": ZONE, "name": "api.example.com", "blue": {"records": ["203.0.113.10"]},
                   "green": {"records": ["203.0.113.20"]}, "traffic": 30, "id": "Z0123456789ABCDEFGHIJ/api.example.com/A/blue/green",
                   "blue_weight": 70, "green_weight": 30, "active": "split", "change_id": "C0001"}),
        ],
        "bluegreen_canary_listener" | "canary_listener" => vec![
            json!({"listener_arn": LISTENER, "priority": 100, "blue_target_group_arn": TG_BLUE, "green_target_group_arn": TG_GREEN,
                   "traffic": 10}),
            json!({"listener_arn": LISTENER, "priority": 1, "match": {"host_header": ["api.example.com"], "path_pattern": ["/api/*"]},
                   "blue_target_group_arn": TG_BLUE, "green_target_group_arn": TG_GREEN, "traffic": 50,
                   "test_route": {"header_name": "X-Canary", "header_values": ["1"], "priority": 7},
                   "stickiness": {"duration": "1h"}, "rollout": {"steps": [10, 50], "bake_time": "30m"},
                   "health_gate": {"min_healthy_targets": 1}, "on_gate_failure": "rollback", "on_destroy": "promote"}),
            json!({"listener_arn": unknown, "priority": unknown, "blue_target_group_arn": TG_BLUE, "green_target_group_arn": unknown,
                   "traffic": 0, "test_route": {"header_name": unknown, "header_values": ["a", unknown]}}),
            json!({"listener_arn": LISTENER, "priority": 100, "blue_target_group_arn": TG_BLUE, "green_target_group_arn": TG_GREEN,
                   "traffic": 40, "id": RULE, "rule_arn": RULE, "test_rule_arn": RULE, "blue_weight": 60, "green_weight": 40,
                   "active": "split", "test_route": {"header_name": "X-Canary", "header_values": ["1"]}}),
        ],
        "bluegreen_hosted_zone" => vec![json!({"name": "example.com"}), json!({"zone_id": ZONE, "private_zone": false})],
        "bluegreen_load_balancer" => vec![json!({"name": "legacy"}), json!({"arn": LB})],
        "bluegreen_listener" => vec![json!({"arn": LISTENER}), json!({"load_balancer_arn": LB, "port": 443})],
        "bluegreen_target_group" => vec![json!({"name": "legacy"}), json!({"arn": TG_BLUE})],
        "bluegreen_record" => vec![
            json!({"zone_id": ZONE, "name": "api.example.com", "type": "A"}),
            json!({"zone_id": ZONE, "name": "app.example.com", "type": "A", "set_identifier": "blue"}),
        ],
        "bluegreen_records" => vec![
            json!({"zone_id": ZONE, "alias_target": "dualstack.legacy-1.us-east-1.elb.amazonaws.com."}),
            json!({"zone_id": ZONE, "values": ["203.0.113.10", "legacy.example.net"]}),
        ],
        other => panic!("no corpus for {other}"),
    }
}

struct Corpus {
    kind: Kind,
    msgpack: Vec<Vec<u8>>,
    /// JSON of the wholly known values (what stored state can hold).
    json: Vec<Vec<u8>>,
}

fn corpora() -> Vec<Corpus> {
    kinds()
        .into_iter()
        .map(|kind| {
            let values: Vec<Value> = corpus_json(kind.name)
                .iter()
                .map(|j| typed::json_to_value(j, &kind.ty).unwrap_or_else(|e| panic!("corpus of {}: {e}: {j}", kind.name)))
                .collect();
            let msgpack = values.iter().map(|v| msgpack::encode(v, &kind.ty).expect("corpus encodes")).collect();
            let json = values.iter().filter(|v| v.is_known()).map(|v| json::encode(v, &kind.ty).expect("corpus encodes")).collect();
            Corpus { kind, msgpack, json }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Hostile leaves for schema-shaped values
// ---------------------------------------------------------------------------

fn number(rng: &mut Rng) -> Number {
    match rng.below(4) {
        0 => Number::from(
            rng.pick(&[
                0i64,
                1,
                -1,
                2,
                7,
                10,
                50,
                99,
                100,
                101,
                255,
                256,
                1000,
                1001,
                49_999,
                50_000,
                50_001,
                65_535,
                65_536,
                604_800,
                604_801,
                i64::from(i32::MAX),
                i64::from(i32::MAX) + 1,
                i64::from(i32::MIN) - 1,
                i64::from(u32::MAX) + 1,
                i64::MIN,
                i64::MAX,
            ])
            .to_owned(),
        ),
        1 => Number::from(rng.pick(&[u64::MAX, 1 << 63, (1 << 63) + 1]).to_owned()),
        2 => {
            let f = *rng.pick(&[
                0.5,
                -0.5,
                50.5,
                99.999,
                1e300,
                -1e300,
                1e-300,
                f64::INFINITY,
                f64::NEG_INFINITY,
                9_007_199_254_740_993.0,
                -0.0,
            ]);
            Number::from_f64(f).expect("not NaN")
        }
        _ => match rng.below(3) {
            0 => Number::from(rng.below(70_000) as i64 - 100),
            1 => Number::parse(rng.pick::<&str>(&[
                "1e100000",
                "-1e100000",
                "0.1",
                "123456789012345678901234567890",
                "1e-400",
                "100.0000000000000000001",
            ]))
            .expect("number text"),
            _ => Number::from(rng.below(102) as i64),
        },
    }
}

const ODD: &[&str] = &[
    "",
    " ",
    "a",
    "A",
    "\0",
    "é",
    "😀",
    "*",
    "?",
    "Host",
    "host",
    "true",
    "null",
    "-",
    "%",
    "\\",
    "\"",
    "a\nb",
    "\t",
    ".",
    "..",
    "a..b",
    "-a.example.com",
    "*.example.com",
    "xn--bcher-kva.example",
    "1e400",
    "0",
    "-1",
    "0s",
    "/",
    "/*",
    "arn:",
    "arn:aws:elasticloadbalancing:::",
];

fn string_for(hint: &str, rng: &mut Rng) -> String {
    if rng.chance(20) {
        return match rng.below(5) {
            0 => "x".repeat(rng.pick(&[31, 32, 33, 40, 41, 63, 64, 65, 128, 129, 255, 256, 1025, 5000]).to_owned()),
            1 => format!("{}.example.com", "a".repeat(rng.pick(&[63, 64, 300]).to_owned())),
            2 => (0..rng.below(12)).map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}')).collect(),
            _ => rng.pick(ODD).to_string(),
        };
    }
    let pool: &[&str] = if hint.contains("listener") {
        &[LISTENER, LB, "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2", RULE]
    } else if hint.contains("target_group") || hint == "arn" {
        &[TG_BLUE, TG_GREEN, LB, LISTENER, "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/a/0"]
    } else if hint.contains("load_balancer") {
        &[LB, TG_BLUE, "legacy"]
    } else if hint.contains("role") {
        &["arn:aws:iam::123456789012:role/cutover", "arn:aws:iam::1:role/x", "cutover"]
    } else if hint.contains("zone_id") {
        &[ZONE, "/hostedzone/ZABC", "Z35SXDOTRQ7X7K", "z-lower", "ZNOSUCHZONE0123456789", "example.com"]
    } else if hint.contains("url") || hint == "route53" || hint == "elbv2" || hint == "sts" {
        &[
            "http://127.0.0.1:9/healthz",
            "https://green.example.net/healthz",
            "ftp://x",
            "http://",
            "https://[::1",
            "http://host:99999",
            "http://[::1]:80/x?y#z",
            "localhost:4566",
        ]
    } else if hint.contains("time") || hint.contains("duration") || hint.contains("timeout") {
        &[
            "0s",
            "1s",
            "5m",
            "1h30m",
            "7d",
            "8d",
            "99ms",
            "100ms",
            "2m",
            "121s",
            "5 minutes",
            "x",
            "1e3s",
            "9999999999999999999d",
            "-1s",
            "1.5h",
        ]
    } else if hint == "type" {
        &["A", "AAAA", "CNAME", "MX", "a", "ALIAS", "TXT"]
    } else if hint.contains("header_name") {
        &["X-Canary", "Host", "X-*", "X Canary", "x-canary", "X-Ünicode"]
    } else if hint == "on_destroy" {
        &["collapse", "delete", "promote", "keep"]
    } else if hint == "on_gate_failure" {
        &["rollback", "halt", "panic"]
    } else if hint == "region" {
        &["us-east-1", "eu-west-1", "us-gov-west-1", "useast1", "US-EAST-1"]
    } else if hint.contains("records") {
        &["203.0.113.10", "2001:db8::10", "10.0.0.1", "not-an-ip", "app.example.net", "256.0.0.1", "::"]
    } else if hint.contains("name") || hint.contains("host") {
        &["api.example.com", "API.Example.com.", "example.com", "localhost", "bad name.example.com", "legacy", "-legacy"]
    } else {
        &["blue", "green", "1", "api.example.com", "/api/*", "prod", "AKIAEXAMPLE"]
    };
    rng.pick(pool).to_string()
}

/// A value of `ty` with hostile leaves; `hint` is the attribute's name.
fn leaf_value(ty: &Type, hint: &str, rng: &mut Rng, unknowns: bool, depth: usize) -> Value {
    if unknowns && rng.chance(6) {
        return Value::Unknown;
    }
    if rng.chance(6) || depth > 6 {
        return Value::Null;
    }
    match ty {
        Type::Bool => Value::Bool(rng.chance(50)),
        Type::Number => Value::Number(number(rng)),
        Type::String => Value::String(string_for(hint, rng)),
        Type::List(et) | Type::Set(et) => {
            let n = if rng.chance(5) { *rng.pick(&[4, 6, 20, 21, 101]) } else { rng.below(4) };
            let items = (0..n).map(|_| leaf_value(et, hint, rng, unknowns, depth + 1)).collect();
            if matches!(ty, Type::List(_)) {
                Value::List(items)
            } else {
                Value::Set(items)
            }
        }
        Type::Map(et) => {
            Value::Map((0..rng.below(3)).map(|_| (string_for("", rng), leaf_value(et, hint, rng, unknowns, depth + 1))).collect())
        }
        Type::Object(attrs) => Value::Object(attrs.iter().map(|(k, t)| (k.clone(), leaf_value(t, k, rng, unknowns, depth + 1))).collect()),
        Type::Tuple(ets) => Value::Tuple(ets.iter().map(|t| leaf_value(t, hint, rng, unknowns, depth + 1)).collect()),
        Type::Dynamic => Value::String(string_for(hint, rng)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// What Terraform sends as configuration: required attributes set,
    /// computed-only ones null, blocks never unknown.
    Config,
    /// A stored state: anything set, wholly known.
    State,
}

fn block_value(block: &Block, rng: &mut Rng, shape: Shape) -> Value {
    let unknowns = shape == Shape::Config;
    let mut m = BTreeMap::new();
    for a in &block.attributes {
        let v = match shape {
            Shape::Config if a.computed && !a.optional => Value::Null,
            Shape::Config if a.required => loop {
                let v = leaf_value(&a.ty, &a.name, rng, unknowns, 0);
                if !v.is_null() {
                    break v;
                }
            },
            _ if rng.chance(40) => Value::Null,
            _ => leaf_value(&a.ty, &a.name, rng, unknowns, 0),
        };
        m.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let v = match b.nesting {
            Nesting::Single if b.min_items > 0 || rng.chance(50) => block_value(&b.block, rng, shape),
            Nesting::Single => Value::Null,
            Nesting::List => Value::List((0..rng.below(3)).map(|_| block_value(&b.block, rng, shape)).collect()),
            Nesting::Set => Value::Set((0..rng.below(3)).map(|_| block_value(&b.block, rng, shape)).collect()),
        };
        m.insert(b.name.clone(), v);
    }
    Value::Object(m)
}

/// How the Terraform this round plays builds `proposed_new_state`: the
/// provider must not care (it plans from the configuration), so both occur.
fn proposal(rng: &mut Rng) -> Proposal {
    if rng.chance(50) {
        Proposal::KeepsRemovedSingleBlocks
    } else {
        Proposal::DropsRemovedSingleBlocks
    }
}

// ---------------------------------------------------------------------------
// Byte mutation
// ---------------------------------------------------------------------------

const MSGPACK_TOKENS: &[&[u8]] = &[
    &[0xc0],
    &[0xc2],
    &[0xc3],
    &[0xd4, 0x00, 0x00],
    &[0xc7, 0x01, 0x0c, 0x80],
    &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x00],
    &[0xdd, 0xff, 0xff, 0xff, 0xff],
    &[0xdf, 0x7f, 0xff, 0xff, 0xff],
    &[0xdb, 0xff, 0xff, 0xff, 0xff],
    &[0xc6, 0x00, 0x00, 0x00, 0x10],
    &[0xcb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
    &[0xcb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0xca, 0xff, 0xc0, 0x00, 0x00],
    &[0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xa8, b'1', b'e', b'9', b'9', b'9', b'9', b'9', b'9'],
    &[0xa3, 0xed, 0xa0, 0x80],
    &[0x92, 0xc4, 0x09, b'"', b'd', b'y', b'n', b'a', b'm', b'i', b'c', b'"'],
    &[0x92, 0xc4, 0x08, b'"', b's', b't', b'r', b'i', b'n', b'g', b'"', 0xa1, b'x'],
    &[0x91],
    &[0x81],
    &[0x80],
    &[0x90],
];

const JSON_TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"null",
    b"true",
    b"-",
    b"1e999999999",
    b"-0.0e-0",
    b"123456789012345678901234567890",
    b"\\u",
    b"\\ud800",
    b"\"\\ud83d\\ude00\"",
    b"\"type\"",
    b"\"value\"",
    b"{\"value\":1,\"type\":\"number\"}",
    b"\"+Inf\"",
    b"\"1\"",
    b" ",
];

fn mutate(input: &[u8], rng: &mut Rng, others: &[Vec<u8>], tokens: &[&[u8]]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = rng.byte();
            }
            2 if len > 0 => {
                let i = rng.below(len);
                b[i] = *rng
                    .pick(&[0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xc2, 0xd4, 0xc7, 0xdc, 0xdd, 0xde, 0xdf, 0xd9, 0x90, 0x80, 0xa0]);
            }
            3 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                b.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(16));
                b.drain(at..at + n);
            }
            5 if len > 1 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(32));
                let chunk = b[from..from + n].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, chunk);
            }
            6 => b.truncate(rng.below(len + 1)),
            7 if !others.is_empty() => {
                let other = rng.pick(others);
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            8 => {
                let at = rng.below(len + 1);
                let t = rng.pick(tokens).to_vec();
                b.splice(at..at, t);
            }
            _ if len > 0 => {
                // Overwrite with a token (lengths and markers land on structure more often).
                let at = rng.below(len);
                let t = rng.pick(tokens);
                for (i, x) in t.iter().enumerate() {
                    if at + i < b.len() {
                        b[at + i] = *x;
                    }
                }
            }
            _ => b.push(rng.byte()),
        }
    }
    b
}

// ---------------------------------------------------------------------------
// Oracles for the codecs
// ---------------------------------------------------------------------------

#[track_caller]
fn msgpack_round_trip(v: &Value, ty: &Type) {
    let again = msgpack::encode(v, ty).unwrap_or_else(|e| panic!("a decoded value does not re-encode: {e}\n{v:?}"));
    let back = msgpack::decode(&again, ty).unwrap_or_else(|e| panic!("own encoding does not decode: {e}\n{v:?}"));
    assert_eq!(&back, v, "msgpack round trip changed the value");
}

#[track_caller]
fn json_round_trip(v: &Value, ty: &Type) {
    let again = json::encode(v, ty).unwrap_or_else(|e| panic!("a decoded state does not re-encode as JSON: {e}\n{v:?}"));
    let back = json::decode(&again, ty).unwrap_or_else(|e| panic!("own JSON does not decode: {e}\n{v:?}"));
    assert_eq!(&back, v, "JSON round trip changed the value");
}

// ---------------------------------------------------------------------------
// Targets: codecs
// ---------------------------------------------------------------------------

#[test]
fn msgpack_values() {
    let corpora = corpora();
    let all: Vec<Vec<u8>> = corpora.iter().flat_map(|c| c.msgpack.clone()).collect();
    fuzz("msgpack_values", |rng, i, input| {
        let c = &corpora[i % corpora.len()];
        let seed = if rng.chance(30) {
            let v = block_value(&c.kind.block, rng, Shape::Config);
            msgpack::encode(&v, &c.kind.ty).expect("a generated value encodes")
        } else {
            rng.pick(&c.msgpack).clone()
        };
        let bytes = if rng.chance(3) { (0..rng.below(64)).map(|_| rng.byte()).collect() } else { mutate(&seed, rng, &all, MSGPACK_TOKENS) };
        *input = format!("msgpack::decode({}, <{} type>)", Hex(&bytes), c.kind.name);
        if let Ok(v) = msgpack::decode(&bytes, &c.kind.ty) {
            msgpack_round_trip(&v, &c.kind.ty);
        }
        if let Ok(v) = msgpack::decode(&bytes, &Type::Dynamic) {
            msgpack_round_trip(&v, &Type::Dynamic);
        }
    });
}

#[test]
fn json_state() {
    let corpora = corpora();
    let all: Vec<Vec<u8>> = corpora.iter().flat_map(|c| c.json.clone()).collect();
    fuzz("json_state", |rng, i, input| {
        let c = &corpora[i % corpora.len()];
        let seed = if rng.chance(30) {
            let v = block_value(&c.kind.block, rng, Shape::State);
            json::encode(&v, &c.kind.ty).expect("a known value encodes")
        } else {
            rng.pick(&c.json).clone()
        };
        let bytes = mutate(&seed, rng, &all, JSON_TOKENS);
        *input = format!("json::decode(b{:?}, <{} type>)", String::from_utf8_lossy(&bytes), c.kind.name);
        if let Ok(v) = json::decode(&bytes, &c.kind.ty) {
            json_round_trip(&v, &c.kind.ty);
        }
        let lenient = json::DecodeOptions { ignore_undefined_attributes: true };
        if let Ok(v) = json::decode_with(&bytes, &c.kind.ty, lenient) {
            json_round_trip(&v, &c.kind.ty);
        }
        if let Ok(v) = json::decode(&bytes, &Type::Dynamic) {
            json_round_trip(&v, &Type::Dynamic);
        }
    });
}

#[test]
fn type_json() {
    let types: Vec<Vec<u8>> = kinds().iter().map(|k| k.ty.to_json_string().into_bytes()).collect();
    fuzz("type_json", |rng, _, input| {
        let bytes = mutate(rng.pick(&types).as_slice(), rng, &types, JSON_TOKENS);
        *input = format!("Type::from_json_bytes(b{:?})", String::from_utf8_lossy(&bytes));
        if let Ok(t) = Type::from_json_bytes(&bytes) {
            assert_eq!(Type::from_json_bytes(t.to_json_string().as_bytes()).as_ref(), Ok(&t), "type JSON round trip");
        }
    });
}

// ---------------------------------------------------------------------------
// Targets: the server
// ---------------------------------------------------------------------------

/// A provider configured with in-memory AWS fakes (one zone, one listener),
/// so entry points that read AWS run without a network.
fn configured_provider() -> BlueGreenProvider {
    let r53 = Arc::new(FakeRoute53::new());
    r53.add_zone(ZONE, "example.com");
    r53.add_zone("ZABC", "api.example.com");
    let elb = Arc::new(FakeElbv2::default());
    elb.add_listener(LISTENER, Forward { target_groups: vec![(TG_BLUE.into(), 1)], stickiness_seconds: None });
    elb.set_health(TG_GREEN, vec!["healthy"]);
    BlueGreenProvider::with_clients(AwsClients {
        route53: r53,
        elbv2: elb,
        cloudwatch: bluegreen_core::aws::watch::CloudWatchReader::new(Arc::new(bluegreen_core::testing::FakeCloudWatch::default())),
        region: "us-east-1".into(),
        account: None,
        credentials_expire: None,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn dv(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue { msgpack: msgpack::encode(v, ty).expect("encodes"), json: Vec::new() }
}

fn diags_from(d: &[pb::Diagnostic]) -> Vec<String> {
    d.iter().map(|d| format!("[{}] {}: {}", if d.severity == 1 { "error" } else { "warning" }, d.summary, d.detail)).collect()
}

fn has_error(d: &[pb::Diagnostic]) -> bool {
    d.iter().any(|d| d.severity == pb::diagnostic::Severity::Error as i32)
}

#[track_caller]
fn no_provider_bug(what: &str, d: &[pb::Diagnostic], value: &Value) {
    if let Some(bug) = d.iter().find(|d| d.summary == "Provider bug") {
        panic!("{what}: a well-typed configuration produced a Provider bug diagnostic: {}\nvalue: {value:?}", bug.detail);
    }
}

#[track_caller]
fn decodes(what: &str, v: &Option<pb::DynamicValue>, ty: &Type) -> Option<Value> {
    let v = v.as_ref()?;
    Some(msgpack::decode(&v.msgpack, ty).unwrap_or_else(|e| panic!("{what}: the provider returned a value of the wrong type: {e}")))
}

/// Validate, plan a create and plan an update of schema-shaped
/// configurations with hostile leaves; no Provider bug, valid plans.
#[test]
fn config_models() {
    let rt = runtime();
    let p = configured_provider();
    let unconfigured = BlueGreenProvider::new();
    let kinds = kinds();
    fuzz("config_models", |rng, i, input| {
        let k = &kinds[i % kinds.len()];
        let config = block_value(&k.block, rng, Shape::Config);
        *input = format!("{} configuration {config:?}", k.name);
        let d = dv(&config, &k.ty);
        match k.what {
            What::Provider => {
                let r = rt
                    .block_on(p.validate_provider_config(Request::new(pb::validate_provider_config::Request { config: Some(d) })))
                    .expect("answers");
                no_provider_bug("ValidateProviderConfig", &r.get_ref().diagnostics, &config);
                // ConfigureProvider's own step after validation (without the AWS chain).
                if let Ok(model) = typed::decode::<ProviderConfig>(&config) {
                    let mut diags = Diagnostics::new();
                    model.validate(&mut diags);
                    let _ = model.to_settings(&mut diags);
                }
            }
            What::DataSource => {
                let r = rt
                    .block_on(p.validate_data_resource_config(Request::new(pb::validate_data_resource_config::Request {
                        type_name: k.name.into(),
                        config: Some(d),
                    })))
                    .expect("answers");
                no_provider_bug("ValidateDataResourceConfig", &r.get_ref().diagnostics, &config);
            }
            What::Resource => {
                let r = rt
                    .block_on(p.validate_resource_config(Request::new(pb::validate_resource_config::Request {
                        type_name: k.name.into(),
                        config: Some(d.clone()),
                        ..Default::default()
                    })))
                    .expect("answers");
                no_provider_bug("ValidateResourceConfig", &r.get_ref().diagnostics, &config);
                let valid = !has_error(&r.get_ref().diagnostics);

                // Create: prior null; computed attributes null in the proposal.
                let proposed = proposed_new(&k.block, &Value::Null, &config, proposal(rng));
                let provider = if rng.chance(20) { &unconfigured } else { &p };
                let plan = rt
                    .block_on(provider.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                        type_name: k.name.into(),
                        prior_state: None,
                        proposed_new_state: Some(dv(&proposed, &k.ty)),
                        config: Some(d.clone()),
                        ..Default::default()
                    })))
                    .expect("answers")
                    .into_inner();
                no_provider_bug("PlanResourceChange (create)", &plan.diagnostics, &config);
                check_plan(k, &plan, &Value::Null, &config, valid, "create");

                // Update from a stored state (anything the provider may have written).
                let prior = block_value(&k.block, rng, Shape::State);
                let proposed = proposed_new(&k.block, &prior, &config, proposal(rng));
                *input = format!("{} configuration {config:?}\nprior state {prior:?}", k.name);
                let plan = rt
                    .block_on(p.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                        type_name: k.name.into(),
                        prior_state: Some(dv(&prior, &k.ty)),
                        proposed_new_state: Some(dv(&proposed, &k.ty)),
                        config: Some(d),
                        ..Default::default()
                    })))
                    .expect("answers")
                    .into_inner();
                check_plan(k, &plan, &prior, &config, false, "update");
            }
        }
    });
}

/// `v` with each optional attribute and optional single block dropped at random (at every depth), and computed-only
/// attributes nulled: a configuration a user might have edited down to.
fn edited(block: &Block, v: &Value, rng: &mut Rng) -> Value {
    let Value::Object(attrs) = v else { return v.clone() };
    let mut out = attrs.clone();
    for a in &block.attributes {
        if (a.computed && !a.optional) || (a.optional && rng.chance(30)) {
            out.insert(a.name.clone(), Value::Null);
        }
    }
    for b in &block.blocks {
        let Some(inner) = attrs.get(&b.name) else { continue };
        let new = match b.nesting {
            Nesting::Single if !inner.is_null() && b.min_items == 0 && rng.chance(30) => Value::Null,
            Nesting::Single => edited(&b.block, inner, rng),
            _ => inner.clone(),
        };
        out.insert(b.name.clone(), new);
    }
    Value::Object(out)
}

/// Edits a user makes between applies, planned the way each Terraform version proposes them: create from one
/// configuration of the corpus (edited down at random), then plan another over the applied state. Every plan must pass
/// Terraform's own rules (`plancheck`), and a configuration planned over its own applied state must change nothing.
#[test]
fn plan_edits() {
    let rt = runtime();
    let corpora: Vec<Corpus> = corpora().into_iter().filter(|c| c.kind.what == What::Resource).collect();
    let configs: Vec<Vec<Value>> = corpora
        .iter()
        .map(|c| corpus_json(c.kind.name).iter().map(|j| typed::json_to_value(j, &c.kind.ty).expect("corpus")).collect())
        .collect();
    // Each plan in a provider process of its own, as Terraform runs each command: one process's plans are one
    // configuration's, and two different resources claiming one name in it is an error (see provider::claims).
    let plan = |k: &Kind, prior: &Value, config: &Value, how: Proposal| {
        let p = configured_provider();
        let proposed = proposed_new(&k.block, prior, config, how);
        rt.block_on(p.plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: k.name.into(),
            prior_state: Some(dv(prior, &k.ty)),
            proposed_new_state: Some(dv(&proposed, &k.ty)),
            config: Some(dv(config, &k.ty)),
            ..Default::default()
        })))
        .expect("answers")
        .into_inner()
    };
    let mut judged = 0usize;
    fuzz("plan_edits", |rng, i, input| {
        let (c, cs) = (&corpora[i % corpora.len()], &configs[i % corpora.len()]);
        let k = &c.kind;
        let x = edited(&k.block, rng.pick(cs), rng);
        let y = edited(&k.block, rng.pick(cs), rng);
        let how = proposal(rng);
        *input = format!("{} from {x:?}\nto {y:?}\n({how:?})", k.name);
        let created = plan(k, &Value::Null, &x, how);
        let Some(created) = decodes("PlanResourceChange", &created.planned_state, &k.ty) else { return };
        let prior = plancheck::applied_state(&k.ty, &created);
        let answer = plan(k, &prior, &y, how);
        check_plan(k, &answer, &prior, &y, false, "edit");
        let Some(planned) = decodes("PlanResourceChange", &answer.planned_state, &k.ty) else { return };
        judged += 1;
        if y.is_known() {
            let state = plancheck::applied_state(&k.ty, &planned);
            let again = plan(k, &state, &y, how);
            let again = decodes("PlanResourceChange", &again.planned_state, &k.ty).expect("the same configuration plans again");
            assert_eq!(again, state, "a configuration planned over its own applied state changes it");
        }
    });
    // Most generated edits validate; an oracle that judged nothing would prove nothing.
    assert!(judged * 4 >= iterations(), "only {judged} of {} edits were planned", iterations());
}

#[track_caller]
fn check_plan(k: &Kind, plan: &pb::plan_resource_change::Response, prior: &Value, config: &Value, valid_config: bool, what: &str) {
    match decodes("PlanResourceChange", &plan.planned_state, &k.ty) {
        Some(planned) => {
            assert!(!has_error(&plan.diagnostics), "{what}: a planned state alongside errors: {:?}", diags_from(&plan.diagnostics));
            let broken = plancheck::assert_plan_valid(&k.block, prior, config, &planned);
            assert!(broken.is_empty(), "{what}: Terraform would reject this plan: {broken:?}");
        }
        None => {
            assert!(has_error(&plan.diagnostics), "{what}: no planned state and no error");
            // A configuration that validated fails only for a reason the plan names.
            if valid_config && what == "create" {
                let d = diags_from(&plan.diagnostics);
                assert!(!d.iter().any(|d| d.contains("Provider bug")), "{what}: {d:?}");
            }
        }
    }
}

/// Arbitrary and mutated bytes into every entry point that decodes them.
#[test]
fn server_bytes() {
    let rt = runtime();
    let p = configured_provider();
    let corpora = corpora();
    let all_mp: Vec<Vec<u8>> = corpora.iter().flat_map(|c| c.msgpack.clone()).collect();
    let all_json: Vec<Vec<u8>> = corpora.iter().flat_map(|c| c.json.clone()).collect();
    fuzz("server_bytes", |rng, i, input| {
        let c = &corpora[i % corpora.len()];
        let k = &c.kind;
        let type_name = if rng.chance(3) {
            rng.pick(&["", "bluegreen_nope", "canary_listener", "bluegreen_canary_listener", "bluegreen_switch"]).to_string()
        } else {
            k.name.into()
        };
        let some_bytes = |rng: &mut Rng| -> pb::DynamicValue {
            match rng.below(10) {
                0 => pb::DynamicValue { msgpack: (0..rng.below(48)).map(|_| rng.byte()).collect(), json: Vec::new() },
                1 => pb::DynamicValue { msgpack: Vec::new(), json: mutate(rng.pick(&all_json).as_slice(), rng, &all_json, JSON_TOKENS) },
                2 => pb::DynamicValue { msgpack: Vec::new(), json: Vec::new() },
                3 => pb::DynamicValue { msgpack: rng.pick(&c.msgpack).clone(), json: rng.pick(&all_json).clone() },
                _ => pb::DynamicValue { msgpack: mutate(rng.pick(&c.msgpack).as_slice(), rng, &all_mp, MSGPACK_TOKENS), json: Vec::new() },
            }
        };
        let a = some_bytes(rng);
        let b = some_bytes(rng);
        let cfg = some_bytes(rng);
        *input = format!(
            "type_name {type_name:?}\na: msgpack {} json {}\nb: msgpack {} json {}\nconfig: msgpack {} json {}",
            Hex(&a.msgpack),
            Hex(&a.json),
            Hex(&b.msgpack),
            Hex(&b.json),
            Hex(&cfg.msgpack),
            Hex(&cfg.json)
        );
        match k.what {
            What::Provider => {
                rt.block_on(p.validate_provider_config(Request::new(pb::validate_provider_config::Request { config: Some(a) })))
                    .expect("answers");
            }
            What::DataSource => {
                rt.block_on(p.validate_data_resource_config(Request::new(pb::validate_data_resource_config::Request {
                    type_name,
                    config: Some(a),
                })))
                .expect("answers");
            }
            What::Resource => {
                let ty = p.resources().find(|r| r.type_name() == type_name).map(|r| r.schema().implied_type());
                rt.block_on(p.validate_resource_config(Request::new(pb::validate_resource_config::Request {
                    type_name: type_name.clone(),
                    config: Some(cfg.clone()),
                    ..Default::default()
                })))
                .expect("answers");
                let plan = rt
                    .block_on(p.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                        type_name: type_name.clone(),
                        prior_state: if rng.chance(50) { None } else { Some(a.clone()) },
                        proposed_new_state: Some(b),
                        config: Some(cfg),
                        ..Default::default()
                    })))
                    .expect("answers")
                    .into_inner();
                if let Some(ty) = &ty {
                    if plan.planned_state.is_some() {
                        decodes("PlanResourceChange", &plan.planned_state, ty);
                        assert!(!has_error(&plan.diagnostics), "a planned state alongside errors");
                    }
                }
                let json_state =
                    if rng.chance(50) { mutate(rng.pick(&all_json).as_slice(), rng, &all_json, JSON_TOKENS) } else { a.json.clone() };
                let up = rt
                    .block_on(p.upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
                        type_name: type_name.clone(),
                        version: rng.below(3) as i64,
                        raw_state: Some(pb::RawState { json: json_state, flatmap: Default::default() }),
                    })))
                    .expect("answers")
                    .into_inner();
                if let Some(ty) = &ty {
                    decodes("UpgradeResourceState", &up.upgraded_state, ty);
                }
                let read = rt
                    .block_on(p.read_resource(Request::new(pb::read_resource::Request {
                        type_name: type_name.clone(),
                        current_state: Some(a),
                        ..Default::default()
                    })))
                    .expect("answers")
                    .into_inner();
                if let (Some(ty), false) = (&ty, has_error(&read.diagnostics)) {
                    decodes("ReadResource", &read.new_state, ty);
                }
                let id = if rng.chance(50) {
                    String::from_utf8_lossy(&mutate(RULE.as_bytes(), rng, &[], JSON_TOKENS)).into_owned()
                } else {
                    String::from_utf8_lossy(&mutate(format!("{ZONE}/api.example.com/A/blue/green").as_bytes(), rng, &[], JSON_TOKENS))
                        .into_owned()
                };
                *input = format!("{input}\nimport id {id:?}");
                let imported = rt
                    .block_on(p.import_resource_state(Request::new(pb::import_resource_state::Request {
                        type_name,
                        id,
                        ..Default::default()
                    })))
                    .expect("answers")
                    .into_inner();
                if let Some(ty) = &ty {
                    for r in &imported.imported_resources {
                        decodes("ImportResourceState", &r.state, ty);
                    }
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Target: hostile nesting
// ---------------------------------------------------------------------------

/// Deeply nested input is refused with an error in every decoder (a stack
/// overflow would abort the test binary, so passing means bounded).
#[test]
fn depth() {
    let kinds = kinds();
    let deep_list = (0..70).fold(Type::String, |t, _| Type::list(t));
    let mut types: Vec<Type> = kinds.iter().map(|k| k.ty.clone()).collect();
    types.extend([Type::Dynamic, deep_list.clone(), Type::map(Type::Dynamic)]);
    let dynamic_dynamic: &[u8] = &[0x92, 0xc4, 0x09, b'"', b'd', b'y', b'n', b'a', b'm', b'i', b'c', b'"'];
    let started = Instant::now();
    for n in [63usize, 64, 65, 1_000, 100_000] {
        // [[[...]]] and {"":{"":...}} and nested dynamic values, then a null.
        let inputs: Vec<Vec<u8>> = vec![
            [vec![0x91; n], vec![0xc0]].concat(),
            [[0x81, 0xa0].repeat(n), vec![0xc0]].concat(),
            [dynamic_dynamic.repeat(n), vec![0xc0]].concat(),
            [[0xdd, 0x00, 0x00, 0x00, 0x01].repeat(n), vec![0xc0]].concat(),
        ];
        for bytes in &inputs {
            for ty in &types {
                if let Ok(v) = msgpack::decode(bytes, ty) {
                    assert!(n <= 64, "{n} levels decoded as {ty}");
                    msgpack_round_trip(&v, ty);
                }
            }
        }
        let json_inputs = [
            format!("{}{}", "[".repeat(n), "]".repeat(n)),
            format!("{}null{}", "{\"a\":".repeat(n), "}".repeat(n)),
            format!("{}1{}", "{\"type\":\"dynamic\",\"value\":".repeat(n), "}".repeat(n)),
        ];
        for text in &json_inputs {
            for ty in &types {
                if let Ok(v) = json::decode(text.as_bytes(), ty) {
                    assert!(n <= 130, "{n} levels decoded as {ty}");
                    json_round_trip(&v, ty);
                }
            }
        }
        let type_text = format!("{}\"string\"{}", "[\"list\",".repeat(n), "]".repeat(n));
        let t = Type::from_json_bytes(type_text.as_bytes());
        assert_eq!(t.is_ok(), n <= 64, "type JSON nested {n} deep: {t:?}");
    }
    // And through the server: a configuration nested 100 000 deep is an error, not a crash.
    let rt = runtime();
    let p = configured_provider();
    for k in &kinds {
        for bytes in [[vec![0x91; 100_000], vec![0xc0]].concat(), [dynamic_dynamic.repeat(100_000), vec![0xc0]].concat()] {
            let d = pb::DynamicValue { msgpack: bytes.clone(), json: Vec::new() };
            let diags = match k.what {
                What::Resource => {
                    rt.block_on(p.validate_resource_config(Request::new(pb::validate_resource_config::Request {
                        type_name: k.name.into(),
                        config: Some(d),
                        ..Default::default()
                    })))
                    .expect("answers")
                    .into_inner()
                    .diagnostics
                }
                What::DataSource => {
                    rt.block_on(p.validate_data_resource_config(Request::new(pb::validate_data_resource_config::Request {
                        type_name: k.name.into(),
                        config: Some(d),
                    })))
                    .expect("answers")
                    .into_inner()
                    .diagnostics
                }
                What::Provider => {
                    rt.block_on(p.validate_provider_config(Request::new(pb::validate_provider_config::Request { config: Some(d) })))
                        .expect("answers")
                        .into_inner()
                        .diagnostics
                }
            };
            assert!(has_error(&diags), "{}: deep input accepted", k.name);
        }
    }
    println!("fuzz depth: done in {:.2?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// Regressions: inputs the fuzzer found, through the server as Terraform sends them
// ---------------------------------------------------------------------------

/// Validates `config` (JSON, missing attributes null) as `kind` and plans its
/// create; returns every diagnostic as `summary: detail`.
fn validate_and_plan(kind: &str, config: serde_json::Value) -> Vec<String> {
    let rt = runtime();
    let p = configured_provider();
    let k = kinds().into_iter().find(|k| k.name == kind).expect("kind");
    let v = typed::json_to_value(&config, &k.ty).expect("config fits the type");
    let d = dv(&v, &k.ty);
    let mut out = match k.what {
        What::Provider => {
            rt.block_on(p.validate_provider_config(Request::new(pb::validate_provider_config::Request { config: Some(d.clone()) })))
                .expect("answers")
                .into_inner()
                .diagnostics
        }
        What::DataSource => {
            rt.block_on(p.validate_data_resource_config(Request::new(pb::validate_data_resource_config::Request {
                type_name: kind.into(),
                config: Some(d.clone()),
            })))
            .expect("answers")
            .into_inner()
            .diagnostics
        }
        What::Resource => {
            rt.block_on(p.validate_resource_config(Request::new(pb::validate_resource_config::Request {
                type_name: kind.into(),
                config: Some(d.clone()),
                ..Default::default()
            })))
            .expect("answers")
            .into_inner()
            .diagnostics
        }
    };
    if k.what == What::Resource {
        let plan = rt
            .block_on(p.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: kind.into(),
                proposed_new_state: Some(d.clone()),
                config: Some(d),
                ..Default::default()
            })))
            .expect("answers")
            .into_inner();
        out.extend(plan.diagnostics);
    }
    let mut seen = Vec::new();
    for d in out {
        let s = format!("{}: {}", d.summary, d.detail);
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen
}

#[test]
fn regressions() {
    use serde_json::json;
    let canary = |priority: serde_json::Value| {
        json!({"listener_arn": LISTENER, "priority": priority, "blue_target_group_arn": TG_BLUE,
               "green_target_group_arn": TG_GREEN, "traffic": 10, "test_route": {"header_name": "X-Canary", "header_values": ["1"]}})
    };
    // The test route's default priority (priority - 1) overflowed: a debug build panicked ("plugin crashed").
    assert_eq!(
        validate_and_plan("canary_listener", canary(json!(i64::MIN))),
        ["Invalid priority: priority must be between 1 and 50000, got -9223372036854775808."]
    );
    // A number the schema allows but u32 cannot hold was reported as a Provider bug next to the real error.
    assert_eq!(
        validate_and_plan("provider", json!({"max_retries": 0.5})),
        ["Invalid max_retries: max_retries must be a whole number, got 0.5."]
    );

    let switch = |steps: serde_json::Value| {
        json!({"zone_id": ZONE, "name": "api.example.com", "blue": {"records": ["203.0.113.10"]},
               "green": {"records": ["203.0.113.20"]}, "traffic": 50, "rollout": {"steps": steps}})
    };
    // `steps = [10, null]` and `steps = [1e20]` were Provider bugs.
    assert_eq!(
        validate_and_plan("bluegreen_switch", switch(json!([10, null]))),
        ["Invalid steps: steps must not contain null, got null at index 1; remove it."]
    );
    assert_eq!(
        validate_and_plan("bluegreen_switch", switch(json!([1e20]))),
        ["Invalid steps: steps must be between -9223372036854775808 and 9223372036854775807, got 100000000000000000000."]
    );
    // The same for a list of strings.
    let with_null_record = json!({"zone_id": ZONE, "name": "api.example.com", "blue": {"records": ["203.0.113.10", null]},
                                  "green": {"records": ["203.0.113.20"]}, "traffic": 50});
    assert_eq!(
        validate_and_plan("bluegreen_switch", with_null_record),
        ["Invalid records: records must not contain null, got null at index 1; remove it."]
    );
}
