//! Conversions between the wire protocol (tfplugin6 messages) and the
//! provider's own types: schemas, diagnostics, paths and dynamic values.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::proto::tfplugin6 as pb;
use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::value::{json, msgpack, Path, PathStep, Type, Value};

pub fn schema_to_proto(s: &Schema) -> pb::Schema {
    pb::Schema { version: s.version, block: Some(block_to_proto(&s.block)) }
}

fn block_to_proto(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attribute_to_proto).collect(),
        block_types: b.blocks.iter().map(nested_to_proto).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

fn attribute_to_proto(a: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: a.ty.to_json_string().into_bytes(),
        nested_type: None,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        deprecation_message: String::new(),
        write_only: false,
    }
}

fn nested_to_proto(n: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    pb::schema::NestedBlock {
        type_name: n.name.clone(),
        block: Some(block_to_proto(&n.block)),
        nesting: match n.nesting {
            Nesting::Single => NestingMode::Single,
            Nesting::List => NestingMode::List,
            Nesting::Set => NestingMode::Set,
        } as i32,
        min_items: n.min_items,
        max_items: n.max_items,
    }
}

pub fn path_to_proto(p: &Path) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(n) => Selector::AttributeName(n.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(i64::try_from(*i).unwrap_or(i64::MAX)),
                }),
            })
            .collect(),
    }
}

pub fn path_from_proto(p: &pb::AttributePath) -> Path {
    use pb::attribute_path::step::Selector;
    Path(
        p.steps
            .iter()
            .filter_map(|s| {
                Some(match s.selector.as_ref()? {
                    Selector::AttributeName(n) => PathStep::Attr(n.clone()),
                    Selector::ElementKeyString(k) => PathStep::Key(k.clone()),
                    Selector::ElementKeyInt(i) => PathStep::Index(u64::try_from(*i).unwrap_or(0)),
                })
            })
            .collect(),
    )
}

pub fn diagnostic_to_proto(d: &Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: d.path.as_ref().filter(|p| !p.is_root()).map(path_to_proto),
    }
}

pub fn diagnostics_to_proto(d: &Diagnostics) -> Vec<pb::Diagnostic> {
    d.iter().map(diagnostic_to_proto).collect()
}

/// Decodes a DynamicValue of type `ty` (msgpack preferred, JSON accepted).
pub fn decode_dynamic(v: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let fail = |e: String| {
        let mut d = Diagnostics::new();
        d.bug(format!("could not decode the {what} Terraform sent: {e}"));
        d
    };
    match v {
        None => Ok(Value::Null),
        Some(dv) if !dv.msgpack.is_empty() => msgpack::decode(&dv.msgpack, ty).map_err(|e| fail(e.to_string())),
        Some(dv) if !dv.json.is_empty() => json::decode(&dv.json, ty).map_err(|e| fail(e.to_string())),
        Some(_) => Ok(Value::Null),
    }
}

pub fn encode_dynamic(v: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    msgpack::encode(v, ty).map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() }).map_err(|e| {
        let mut d = Diagnostics::new();
        d.bug(format!("could not encode a value for Terraform: {e}"));
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let p = Path(vec![PathStep::Attr("blue".into()), PathStep::Index(2), PathStep::Key("k".into())]);
        assert_eq!(path_from_proto(&path_to_proto(&p)), p);
    }

    #[test]
    fn root_path_is_omitted_from_diagnostics() {
        let mut d = Diagnostics::new();
        d.error_at(Path::default(), "s", "d");
        assert!(diagnostic_to_proto(&d.0[0]).attribute.is_none());
    }
}
