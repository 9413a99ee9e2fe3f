//! Terraform schemas derived from Rust types.
//!
//! Each resource and data source describes its configuration and state as one
//! serde struct with doc comments. `schemars` turns it into JSON Schema; this
//! module turns that into a Terraform schema (attributes, nested blocks,
//! markdown descriptions) and validates values against the same constraints
//! (ranges, lengths, patterns, enumerations). Docs are generated from the
//! same [`Schema`], so the three can never disagree.
//!
//! Conventions on the Rust side:
//! - A field of a struct type (`Option<Block>`, `Block`, `Vec<Block>`) is a
//!   nested block, unless it is read-only; then it is an object attribute.
//! - `#[schemars(extend("readOnly" = true))]`: computed only.
//! - `#[schemars(extend("x-computed" = true))]` on an optional field:
//!   optional and computed (a selector that is also reported back, or a
//!   default that depends on other values, filled by the resource's
//!   `complete`).
//! - `#[schemars(extend("default" = …))]` on an optional field: the default.
//!   In a managed resource's schema the attribute is then also computed, and
//!   [`apply_defaults`] fills the default in where the configuration leaves
//!   it null (see [`Block::with_defaults_computed`]).
//! - `#[schemars(extend("x-sensitive" = true))]`: sensitive.
//! - A field is required unless it is an `Option`, has `#[serde(default)]`, or
//!   is read-only.

use std::collections::BTreeMap;

use regex::Regex;
use schemars::JsonSchema;
use serde_json::{Map, Value as Json};

use crate::diag::{Diagnostics, PathBuilder};
use crate::value::{Path, Type, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub deprecated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    /// The default the provider applies when the attribute is null.
    pub default: Option<Json>,
    /// Value constraints, as JSON Schema keywords, checked by [`validate`].
    pub constraints: Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl Schema {
    /// The schema of `T`. Panics on a type that cannot be expressed in
    /// Terraform — a programming error caught by every test that builds the
    /// provider's schemas.
    pub fn of<T: JsonSchema>(version: i64) -> Schema {
        let generator = schemars::generate::SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator();
        let mut root = generator.into_root_schema_for::<T>();
        // schemars titles the root with the Rust type name; users never see it.
        root.remove("title");
        let block = block_from_json(root.as_value(), &T::schema_name()).unwrap_or_else(|e| panic!("schema of {}: {e}", T::schema_name()));
        Schema { version, block }
    }

    pub fn implied_type(&self) -> Type {
        self.block.implied_type()
    }
}

impl Attribute {
    /// The values a string attribute is restricted to (a Rust enum), if any.
    pub fn allowed_values(&self) -> Option<Vec<String>> {
        let c = non_null(self.constraints.as_object()?);
        Some(string_enum(&c)?.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
    }
}

impl Block {
    /// The object type of values conforming to this block.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self.attributes.iter().map(|a| (a.name.clone(), a.ty.clone())).collect();
        for b in &self.blocks {
            let inner = b.block.implied_type();
            let ty = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
            };
            attrs.insert(b.name.clone(), ty);
        }
        Type::Object(attrs)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// This block with every optional attribute that has a default marked
    /// computed too, at every depth: how a managed resource serves it.
    /// Terraform lets a plan set only computed attributes the configuration
    /// leaves null, so the default can be planned, stored and imported — and a
    /// configuration that spells the default out plans the same as one that
    /// omits it.
    pub fn with_defaults_computed(mut self) -> Block {
        for a in &mut self.attributes {
            if a.optional && a.default.is_some() {
                a.computed = true;
            }
        }
        self.blocks = self.blocks.into_iter().map(|n| NestedBlock { block: n.block.with_defaults_computed(), ..n }).collect();
        self
    }
}

/// Fills each null attribute that has a default with it, in `value` and in
/// every nested block present in it. Unknown values stay unknown. The one
/// place schema defaults take effect.
pub fn apply_defaults(block: &Block, value: &mut Value) {
    let Value::Object(attrs) = value else { return };
    for a in &block.attributes {
        let (Some(default), Some(slot)) = (&a.default, attrs.get_mut(&a.name)) else { continue };
        if slot.is_null() {
            if let Some(v) = default_value(default) {
                *slot = v;
            }
        }
    }
    for b in &block.blocks {
        match attrs.get_mut(&b.name) {
            Some(Value::List(items) | Value::Set(items)) => items.iter_mut().for_each(|item| apply_defaults(&b.block, item)),
            Some(v) => apply_defaults(&b.block, v),
            None => {}
        }
    }
}

/// A schema default as a value. Defaults here are strings, booleans and whole numbers.
pub(crate) fn default_value(j: &Json) -> Option<Value> {
    Some(match j {
        Json::String(s) => Value::string(s.clone()),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::number(n.as_i64()?),
        _ => return None,
    })
}

fn description_of(s: &Map<String, Json>) -> String {
    let title = s.get("title").and_then(Json::as_str).unwrap_or("");
    let desc = s.get("description").and_then(Json::as_str).unwrap_or("");
    match (title.is_empty(), desc.is_empty()) {
        (false, false) => format!("{title}\n\n{desc}"),
        (false, true) => title.to_string(),
        _ => desc.to_string(),
    }
}

/// Strips `null` from a schema's type (how schemars marks `Option`), merging
/// the surrounding description into the inner schema.
fn non_null(schema: &Map<String, Json>) -> Map<String, Json> {
    let mut s = schema.clone();
    if let Some(Json::Array(types)) = s.get("type") {
        let rest: Vec<Json> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
        s.insert("type".into(), if rest.len() == 1 { rest[0].clone() } else { Json::Array(rest) });
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Json::Array(options)) = s.get(key).cloned() {
            let rest: Vec<&Json> = options.iter().filter(|o| o.get("type").and_then(Json::as_str) != Some("null")).collect();
            if rest.len() == 1 && rest.len() < options.len() {
                s.remove(key);
                if let Some(inner) = rest[0].as_object() {
                    for (k, v) in inner {
                        if k == "description" && s.contains_key("description") {
                            continue;
                        }
                        s.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    s
}

/// `oneOf: [{const: "a"}, {const: "b"}]` (a documented unit enum) as `enum`.
fn string_enum(s: &Map<String, Json>) -> Option<Vec<Json>> {
    if let Some(Json::Array(values)) = s.get("enum") {
        return Some(values.clone());
    }
    let options = s.get("oneOf").or_else(|| s.get("anyOf"))?.as_array()?;
    options.iter().map(|o| o.get("const").cloned()).collect()
}

fn type_name(s: &Map<String, Json>) -> Option<&str> {
    s.get("type").and_then(Json::as_str)
}

fn is_block_object(s: &Map<String, Json>) -> bool {
    type_name(s) == Some("object") && s.contains_key("properties")
}

fn cty_type(s: &Map<String, Json>) -> Result<Type, String> {
    let s = non_null(s);
    if string_enum(&s).is_some() {
        return Ok(Type::String);
    }
    match type_name(&s) {
        Some("string") => Ok(Type::String),
        Some("integer" | "number") => Ok(Type::Number),
        Some("boolean") => Ok(Type::Bool),
        Some("array") => {
            let items = s.get("items").and_then(Json::as_object).ok_or("array without items")?;
            let el = cty_type(items)?;
            Ok(if s.get("uniqueItems") == Some(&Json::Bool(true)) { Type::set(el) } else { Type::list(el) })
        }
        Some("object") => {
            if let Some(props) = s.get("properties").and_then(Json::as_object) {
                let attrs = props
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), cty_type(v.as_object().ok_or("property schema is not an object")?)?)))
                    .collect::<Result<BTreeMap<_, _>, String>>()?;
                Ok(Type::Object(attrs))
            } else if let Some(el) = s.get("additionalProperties").and_then(Json::as_object) {
                Ok(Type::map(cty_type(el)?))
            } else {
                Err("object without properties or additionalProperties".into())
            }
        }
        other => Err(format!("unsupported JSON schema type {other:?}")),
    }
}

/// Object-typed attributes carry no per-field descriptions in the protocol
/// (blocks do); list the fields' docs in the attribute's own description.
fn with_field_docs(description: String, s: &Map<String, Json>) -> String {
    let object = match type_name(s) {
        Some("array") => s.get("items").and_then(Json::as_object).map(non_null),
        Some("object") => Some(s.clone()),
        _ => None,
    };
    let Some(props) = object.as_ref().and_then(|o| o.get("properties")).and_then(Json::as_object) else { return description };
    let fields: Vec<String> = props
        .iter()
        .map(|(k, v)| {
            let d = v.as_object().map(description_of).unwrap_or_default();
            format!("`{k}` — {}", d.trim_end_matches('.'))
        })
        .collect();
    format!("{description} Each has: {}.", fields.join("; ").trim_end_matches('.'))
}

fn flag(s: &Map<String, Json>, key: &str) -> bool {
    s.get(key).and_then(Json::as_bool).unwrap_or(false)
}

fn block_from_json(root: &Json, ctx: &str) -> Result<Block, String> {
    let root = root.as_object().ok_or_else(|| format!("{ctx}: schema is not an object"))?;
    let root = non_null(root);
    let props = root.get("properties").and_then(Json::as_object).ok_or_else(|| format!("{ctx}: not a struct"))?;
    let required: Vec<&str> =
        root.get("required").and_then(Json::as_array).map(|r| r.iter().filter_map(Json::as_str).collect()).unwrap_or_default();
    let mut block = Block { description: description_of(&root), deprecated: flag(&root, "deprecated"), ..Block::default() };

    for (name, prop) in props {
        let path = format!("{ctx}.{name}");
        let prop = prop.as_object().ok_or_else(|| format!("{path}: schema is not an object"))?;
        let inner = non_null(prop);
        let read_only = flag(prop, "readOnly");
        let is_required = required.contains(&name.as_str()) && !read_only;
        let description = description_of(prop);

        if !read_only && is_block_object(&inner) {
            let nested = block_from_json(&Json::Object(inner.clone()), &path)?;
            let n = i64::from(is_required);
            block.blocks.push(NestedBlock {
                name: name.clone(),
                nesting: Nesting::Single,
                block: Block { description, ..nested },
                min_items: n,
                max_items: n,
            });
            continue;
        }
        if !read_only && type_name(&inner) == Some("array") {
            if let Some(items) = inner.get("items").and_then(Json::as_object).map(non_null) {
                if is_block_object(&items) {
                    let nested = block_from_json(&Json::Object(items.clone()), &path)?;
                    let nesting = if flag(&inner, "uniqueItems") { Nesting::Set } else { Nesting::List };
                    block.blocks.push(NestedBlock {
                        name: name.clone(),
                        nesting,
                        block: Block { description, ..nested },
                        min_items: inner.get("minItems").and_then(Json::as_i64).unwrap_or(0),
                        max_items: inner.get("maxItems").and_then(Json::as_i64).unwrap_or(0),
                    });
                    continue;
                }
            }
        }
        let ty = cty_type(prop).map_err(|e| format!("{path}: {e}"))?;
        let default = prop.get("default").filter(|d| !d.is_null()).cloned();
        let computed_too = flag(prop, "x-computed");
        let description = with_field_docs(description, &inner);
        block.attributes.push(Attribute {
            name: name.clone(),
            ty,
            description,
            required: is_required,
            optional: !is_required && !read_only,
            computed: read_only || computed_too,
            sensitive: flag(prop, "x-sensitive"),
            deprecated: flag(prop, "deprecated"),
            default,
            constraints: Json::Object(inner),
        });
    }
    Ok(block)
}

/// Checks a configuration value against the constraints in the schema.
/// Unknown values are skipped: they are checked again once known.
pub fn validate(block: &Block, value: &Value, path: &Path, diags: &mut Diagnostics) {
    let Value::Object(attrs) = value else { return };
    for a in &block.attributes {
        if let Some(v) = attrs.get(&a.name) {
            check_constraints(&a.constraints, v, &path.clone().attr(&a.name), &a.name, diags);
        }
    }
    for b in &block.blocks {
        let p = path.clone().attr(&b.name);
        match (b.nesting, attrs.get(&b.name)) {
            (Nesting::Single, Some(v)) => validate(&b.block, v, &p, diags),
            (_, Some(Value::List(items) | Value::Set(items))) => {
                for (i, item) in items.iter().enumerate() {
                    validate(&b.block, item, &p.clone().index(i), diags);
                }
            }
            _ => {}
        }
    }
}

fn show(j: &Json) -> String {
    match j {
        Json::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Patterns compile once per process: every validation of every attribute would otherwise compile its
/// pattern again (noticeable when a configuration has many resources, and in the fuzzer).
fn cached_regex(pattern: &str) -> Result<Regex, regex::Error> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, Regex>>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Regex::new(pattern)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// The range of the integer formats schemars writes for Rust integer types.
fn integer_format_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" | "uint" => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn check_constraints(c: &Json, v: &Value, path: &Path, name: &str, diags: &mut Diagnostics) {
    let Some(c) = c.as_object() else { return };
    let c = non_null(c);
    match v {
        Value::Null | Value::Unknown => {}
        Value::Number(n) => {
            let x = n.as_f64();
            let min = c.get("minimum").and_then(Json::as_f64);
            let max = c.get("maximum").and_then(Json::as_f64);
            let range = match (min, max) {
                (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                (Some(lo), None) => format!("at least {lo}"),
                (None, Some(hi)) => format!("at most {hi}"),
                (None, None) => String::new(),
            };
            if type_name(&c) == Some("integer") && !n.is_integer() {
                diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} must be a whole number, got {n}."));
            } else if min.is_some_and(|lo| x < lo) || max.is_some_and(|hi| x > hi) {
                diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} must be {range}, got {n}."));
            } else if let Some((lo, hi)) = c.get("format").and_then(Json::as_str).and_then(integer_format_range) {
                // The Rust type's own range (an i64 field without explicit bounds): beyond it the typed model
                // cannot hold the value, which must be the user's error, not a provider bug.
                let exact = n.as_i64().map(i128::from);
                if !exact.is_some_and(|v| (lo..=hi).contains(&v)) {
                    diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} must be between {lo} and {hi}, got {n}."));
                }
            }
        }
        Value::String(s) => {
            if let Some(allowed) = string_enum(&c) {
                if !allowed.iter().any(|a| a.as_str() == Some(s)) {
                    let list: Vec<String> = allowed.iter().map(show).collect();
                    diags.error_at(
                        path.clone(),
                        format!("Invalid {name}"),
                        format!("{name} must be one of {}, got {s:?}.", list.join(", ")),
                    );
                }
                return;
            }
            let len = s.chars().count() as u64;
            if let Some(lo) = c.get("minLength").and_then(Json::as_u64).filter(|lo| len < *lo) {
                let detail =
                    if lo == 1 { format!("{name} must not be empty.") } else { format!("{name} must have at least {lo} characters.") };
                diags.error_at(path.clone(), format!("Invalid {name}"), detail);
            } else if let Some(hi) = c.get("maxLength").and_then(Json::as_u64).filter(|hi| len > *hi) {
                diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} must have at most {hi} characters, got {len}."));
            } else if let Some(p) = c.get("pattern").and_then(Json::as_str) {
                match cached_regex(p) {
                    Ok(re) if !re.is_match(s) => {
                        let hint =
                            c.get("x-pattern-hint").and_then(Json::as_str).map_or_else(|| format!("match the pattern {p}"), str::to_string);
                        diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} must {hint}, got {s:?}."));
                    }
                    Ok(_) => {}
                    Err(e) => diags.bug(format!("bad pattern for {name}: {e}")),
                }
            }
        }
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            let n = items.len() as u64;
            if let Some(lo) = c.get("minItems").and_then(Json::as_u64).filter(|lo| n < *lo) {
                diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} needs at least {lo} element(s), got {n}."));
            }
            if let Some(hi) = c.get("maxItems").and_then(Json::as_u64).filter(|hi| n > *hi) {
                diags.error_at(path.clone(), format!("Invalid {name}"), format!("{name} allows at most {hi} element(s), got {n}."));
            }
            for (i, item) in items.iter().enumerate() {
                // Terraform lets a configuration put null in a list (`[10, null]`); no attribute here means anything by it.
                if item.is_null() {
                    diags.error_at(
                        path.clone().index(i),
                        format!("Invalid {name}"),
                        format!("{name} must not contain null, got null at index {i}; remove it."),
                    );
                } else if let Some(items_c) = c.get("items") {
                    check_constraints(items_c, item, &path.clone().index(i), name, diags);
                }
            }
        }
        Value::Map(entries) => {
            if let Some(el) = c.get("additionalProperties") {
                for (k, item) in entries {
                    let mut p = path.clone();
                    p.0.push(crate::value::PathStep::Key(k.clone()));
                    check_constraints(el, item, &p, name, diags);
                }
            }
        }
        Value::Object(attrs) => {
            if let Some(props) = c.get("properties").and_then(Json::as_object) {
                for (k, pc) in props {
                    if let Some(item) = attrs.get(k) {
                        check_constraints(pc, item, &path.clone().attr(k), k, diags);
                    }
                }
            }
        }
        Value::Bool(_) => {}
    }
}

/// Terraform's own rules for a schema (what current Terraform enforces when it
/// loads a provider; 1.0.3 does not, so we check ourselves). Returns every
/// violation.
pub fn check_terraform_rules(block: &Block, ctx: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let name_re = Regex::new("^[a-z0-9_]+$").expect("static regex");
    let mut seen = std::collections::BTreeSet::new();
    for a in &block.attributes {
        let p = format!("{ctx}.{}", a.name);
        if !name_re.is_match(&a.name) {
            errs.push(format!("{p}: name must match ^[a-z0-9_]+$"));
        }
        if !seen.insert(a.name.clone()) {
            errs.push(format!("{p}: duplicate name"));
        }
        if a.required && a.optional {
            errs.push(format!("{p}: cannot be both required and optional"));
        }
        if a.required && a.computed {
            errs.push(format!("{p}: required cannot be computed"));
        }
        if !a.required && !a.optional && !a.computed {
            errs.push(format!("{p}: must be required, optional or computed"));
        }
        if a.description.trim().is_empty() {
            errs.push(format!("{p}: no description"));
        }
    }
    for b in &block.blocks {
        let p = format!("{ctx}.{}", b.name);
        if !name_re.is_match(&b.name) {
            errs.push(format!("{p}: name must match ^[a-z0-9_]+$"));
        }
        if !seen.insert(b.name.clone()) {
            errs.push(format!("{p}: duplicate name (block and attribute)"));
        }
        match b.nesting {
            Nesting::Single => {
                if b.min_items != b.max_items || !(0..=1).contains(&b.min_items) {
                    errs.push(format!("{p}: single blocks need min_items = max_items = 0 or 1"));
                }
            }
            Nesting::List | Nesting::Set => {
                if b.min_items < 0 || b.max_items < 0 || (b.max_items != 0 && b.min_items > b.max_items) {
                    errs.push(format!("{p}: min_items must be ≤ max_items"));
                }
            }
        }
        if b.block.description.trim().is_empty() {
            errs.push(format!("{p}: no description"));
        }
        errs.extend(check_terraform_rules(&b.block, &p));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::Val;
    use serde::Deserialize;

    /// Where traffic goes.
    #[derive(JsonSchema, Deserialize)]
    #[allow(dead_code)]
    struct Target {
        /// DNS name.
        #[schemars(length(min = 1))]
        name: Val<String>,
        /// Whether to check health.
        #[serde(default)]
        #[schemars(extend("default" = true))]
        evaluate: Val<bool>,
    }

    /// What to do.
    #[derive(JsonSchema, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum Mode {
        /// Go back.
        Rollback,
        /// Stop.
        Halt,
    }

    /// A probe resource.
    #[derive(JsonSchema, Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        /// Percent.
        #[schemars(range(min = 0, max = 100))]
        traffic: Val<u32>,
        /// Legacy side.
        blue: Target,
        /// Optional side.
        #[serde(default)]
        green: Option<Target>,
        /// Several.
        #[serde(default)]
        #[schemars(length(max = 2))]
        rules: Vec<Target>,
        /// Steps.
        #[serde(default)]
        steps: Val<Vec<u32>>,
        /// Mode.
        #[serde(default)]
        mode: Val<Mode>,
        /// Output.
        #[serde(default)]
        #[schemars(extend("readOnly" = true))]
        out: Val<Vec<Target>>,
        /// Secret.
        #[serde(default)]
        #[schemars(extend("x-sensitive" = true))]
        key: Val<String>,
    }

    #[test]
    fn struct_maps_to_attributes_and_blocks() {
        let s = Schema::of::<Probe>(0);
        let b = &s.block;
        assert_eq!(b.description, "A probe resource.");
        let traffic = b.attribute("traffic").unwrap();
        assert!(traffic.required && !traffic.optional && !traffic.computed);
        assert_eq!(traffic.ty, Type::Number);
        let blue = b.nested("blue").unwrap();
        assert_eq!((blue.nesting, blue.min_items, blue.max_items), (Nesting::Single, 1, 1));
        assert_eq!(blue.block.description, "Legacy side.");
        let green = b.nested("green").unwrap();
        assert_eq!((green.nesting, green.min_items, green.max_items), (Nesting::Single, 0, 0));
        let rules = b.nested("rules").unwrap();
        assert_eq!((rules.nesting, rules.max_items), (Nesting::List, 2));
        assert_eq!(b.attribute("steps").unwrap().ty, Type::list(Type::Number));
        assert_eq!(b.attribute("mode").unwrap().ty, Type::String);
        let out = b.attribute("out").unwrap();
        assert!(out.computed && !out.optional && !out.required);
        assert_eq!(out.ty, Type::list(Type::object([("name", Type::String), ("evaluate", Type::Bool)])));
        assert!(b.attribute("key").unwrap().sensitive);
        assert_eq!(blue.block.attribute("evaluate").unwrap().default, Some(Json::Bool(true)));
        assert!(check_terraform_rules(b, "probe").is_empty(), "{:?}", check_terraform_rules(b, "probe"));
    }

    #[test]
    fn validation_reports_paths_and_skips_unknowns() {
        let s = Schema::of::<Probe>(0);
        let target = |n: &str| Value::object([("name", Value::string(n)), ("evaluate", Value::Null)]);
        let v = Value::object([
            ("traffic", Value::number(150i64)),
            ("blue", target("")),
            ("green", Value::Null),
            ("rules", Value::list([target("a"), target("b"), target("c")])),
            ("steps", Value::Unknown),
            ("mode", Value::string("sideways")),
            ("out", Value::Unknown),
            ("key", Value::Null),
        ]);
        let mut d = Diagnostics::new();
        validate(&s.block, &v, &Path::default(), &mut d);
        let got: Vec<(String, String)> = d.iter().map(|d| (d.path.clone().unwrap().to_string(), d.detail.clone())).collect();
        assert!(got.iter().any(|(p, m)| p == ".traffic" && m.contains("between 0 and 100")), "{got:?}");
        assert!(got.iter().any(|(p, m)| p == ".blue.name" && m.contains("must not be empty")), "{got:?}");
        assert!(got.iter().any(|(p, m)| p == ".mode" && m.contains("\"rollback\", \"halt\"")), "{got:?}");
        assert_eq!(got.len(), 3, "{got:?}");
    }

    /// Found by the fuzzer: values the schema let through that the typed model cannot hold, which
    /// surfaced as "Provider bug" diagnostics instead of errors on the attribute.
    #[test]
    fn null_elements_and_numbers_beyond_the_rust_type_are_errors_on_the_attribute() {
        let s = Schema::of::<Probe>(0);
        let blue = Value::object([("name", Value::string("a")), ("evaluate", Value::Null)]);
        let probe = |traffic: Value, steps: Value| {
            let v = Value::object([
                ("traffic", traffic),
                ("blue", blue.clone()),
                ("green", Value::Null),
                ("rules", Value::list([])),
                ("steps", steps),
                ("mode", Value::Null),
                ("out", Value::Null),
                ("key", Value::Null),
            ]);
            let mut d = Diagnostics::new();
            validate(&s.block, &v, &Path::default(), &mut d);
            d.iter().map(|d| format!("{}: {}", d.path.clone().unwrap(), d.detail)).collect::<Vec<_>>()
        };
        let big = Value::Number(crate::value::Number::parse("1e20").unwrap());
        assert_eq!(
            probe(Value::number(5i64), Value::list([Value::number(10i64), Value::Null])),
            [".steps[1]: steps must not contain null, got null at index 1; remove it."]
        );
        assert_eq!(
            probe(Value::number(5i64), Value::list([big.clone()])),
            [".steps[0]: steps must be between 0 and 4294967295, got 100000000000000000000."]
        );
        assert_eq!(probe(Value::number(5i64), Value::list([Value::number(-1i64)])), [".steps[0]: steps must be at least 0, got -1."]);
        assert_eq!(probe(big, Value::Null), [".traffic: traffic must be between 0 and 100, got 100000000000000000000."]);
        assert!(probe(Value::number(5i64), Value::list([Value::number(u32::MAX)])).is_empty());
    }

    #[test]
    fn schema_rules_catch_mistakes() {
        let mut b = Schema::of::<Probe>(0).block;
        let traffic = b.attributes.iter_mut().find(|a| a.name == "traffic").unwrap();
        traffic.computed = true;
        traffic.description.clear();
        let key = b.attributes.iter_mut().find(|a| a.name == "key").unwrap();
        key.required = true;
        let errs = check_terraform_rules(&b, "x");
        assert_eq!(
            errs,
            vec![
                "x.key: cannot be both required and optional".to_string(),
                "x.traffic: required cannot be computed".to_string(),
                "x.traffic: no description".to_string(),
            ]
        );
    }
}
