//! Markdown for one served schema, in the shape of the Terraform Registry's
//! generated reference (tfplugindocs): Required / Optional / Read-Only
//! lists, then a "Nested Schema" section for each block.

use std::collections::BTreeSet;

use anyhow::{anyhow, Context, Result};
use bluegreen_provider::proto::tfplugin6 as pb;
use bluegreen_provider::value::Type;
use pb::schema::nested_block::NestingMode;

/// A type in Terraform's words: `String`, `List of String`, `Map of Number`.
pub fn type_words(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Bool".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_words(e)),
        Type::Set(e) => format!("Set of {}", type_words(e)),
        Type::Map(e) => format!("Map of {}", type_words(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// A description as one list item's text: lines joined, white space trimmed.
pub fn one_line(description: &str) -> String {
    description.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Required,
    Optional,
    ReadOnly,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Required => "Required",
            Section::Optional => "Optional",
            Section::ReadOnly => "Read-Only",
        }
    }
}

enum Item<'a> {
    Attribute(&'a pb::schema::Attribute),
    Block(&'a pb::schema::NestedBlock),
}

impl Item<'_> {
    fn name(&self) -> &str {
        match self {
            Item::Attribute(a) => &a.name,
            Item::Block(b) => &b.type_name,
        }
    }

    fn section(&self) -> Section {
        match self {
            Item::Attribute(a) if a.required => Section::Required,
            Item::Attribute(a) if a.optional => Section::Optional,
            Item::Attribute(_) => Section::ReadOnly,
            Item::Block(b) if b.min_items > 0 => Section::Required,
            Item::Block(_) => Section::Optional,
        }
    }
}

/// The block's own description (what the resource, data source or provider is for).
pub fn description_markdown(block: &pb::schema::Block) -> String {
    let d = block.description.trim();
    if d.is_empty() {
        String::new()
    } else {
        format!("{d}\n")
    }
}

/// The reference of a schema's root block. `replacing` holds the dotted
/// paths (`zone_id`, `blue.alias.name`) of the attributes whose change
/// forces replacement.
pub fn schema_markdown(block: &pb::schema::Block, replacing: &BTreeSet<String>) -> Result<String> {
    let mut out = String::new();
    let mut nested = Vec::new();
    write_items(&mut out, block, "", replacing, &mut nested, true)?;
    for (path, b) in nested {
        write_nested(&mut out, &path, b, replacing)?;
    }
    Ok(out)
}

fn anchor(path: &str) -> String {
    format!("nestedblock--{}", path.replace('.', "--"))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// One line per attribute and block of `block`, grouped by section; the
/// blocks met are pushed on `nested` for their own sections.
fn write_items<'a>(
    out: &mut String,
    block: &'a pb::schema::Block,
    prefix: &str,
    replacing: &BTreeSet<String>,
    nested: &mut Vec<(String, &'a pb::schema::NestedBlock)>,
    root: bool,
) -> Result<()> {
    let mut items: Vec<Item> = block.attributes.iter().map(Item::Attribute).chain(block.block_types.iter().map(Item::Block)).collect();
    items.sort_by(|a, b| (a.section(), a.name()).cmp(&(b.section(), b.name())));
    let mut current = None;
    for (i, item) in items.iter().enumerate() {
        let section = item.section();
        if current != Some(section) {
            current = Some(section);
            if root {
                out.push_str(&format!("### {}\n\n", section.title()));
            } else {
                out.push_str(&format!("{}:\n\n", section.title()));
            }
        }
        let path = join(prefix, item.name());
        let (kind, see) = match item {
            Item::Attribute(a) => {
                let ty = Type::from_json_bytes(&a.r#type).with_context(|| format!("type of {path}"))?;
                let mut kind = type_words(&ty);
                if a.sensitive {
                    kind.push_str(", Sensitive");
                }
                if a.deprecated {
                    kind.push_str(", Deprecated");
                }
                if replacing.contains(&path) {
                    kind.push_str(", Forces replacement");
                }
                (kind, String::new())
            }
            Item::Block(b) => {
                nested.push((path.clone(), b));
                (block_kind(b)?, format!(" (see [below for nested schema](#{}))", anchor(&path)))
            }
        };
        let description = match item {
            Item::Attribute(a) => one_line(&a.description),
            Item::Block(b) => b.block.as_ref().map(|b| one_line(&b.description)).unwrap_or_default(),
        };
        let description = if description.is_empty() { String::new() } else { format!(" {description}") };
        out.push_str(&format!("- `{}` ({kind}){description}{see}\n", item.name()));
        if items.get(i + 1).is_none_or(|next| next.section() != section) {
            out.push('\n');
        }
    }
    Ok(())
}

/// `Block, Required`, `Block, Optional`, `Block List, Max: 3`.
fn block_kind(b: &pb::schema::NestedBlock) -> Result<String> {
    let mode = NestingMode::try_from(b.nesting).map_err(|_| anyhow!("block {}: unknown nesting {}", b.type_name, b.nesting))?;
    let mut kind = match mode {
        NestingMode::Single | NestingMode::Group => {
            if b.min_items > 0 {
                "Block, Required".to_string()
            } else {
                "Block, Optional".to_string()
            }
        }
        NestingMode::List => "Block List".to_string(),
        NestingMode::Set => "Block Set".to_string(),
        NestingMode::Map => "Block Map".to_string(),
        NestingMode::Invalid => return Err(anyhow!("block {}: invalid nesting", b.type_name)),
    };
    if !matches!(mode, NestingMode::Single | NestingMode::Group) {
        if b.min_items > 0 {
            kind.push_str(&format!(", Min: {}", b.min_items));
        }
        if b.max_items > 0 {
            kind.push_str(&format!(", Max: {}", b.max_items));
        }
    }
    if b.block.as_ref().is_some_and(|b| b.deprecated) {
        kind.push_str(", Deprecated");
    }
    Ok(kind)
}

fn write_nested(out: &mut String, path: &str, b: &pb::schema::NestedBlock, replacing: &BTreeSet<String>) -> Result<()> {
    let block = b.block.as_ref().ok_or_else(|| anyhow!("block {path} has no schema"))?;
    out.push_str(&format!("<a id=\"{}\"></a>\n### Nested Schema for `{path}`\n\n", anchor(path)));
    let mut nested = Vec::new();
    write_items(out, block, path, replacing, &mut nested, false)?;
    for (p, inner) in nested {
        write_nested(out, &p, inner, replacing)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, ty: &str, description: &str) -> pb::schema::Attribute {
        pb::schema::Attribute {
            name: name.into(),
            r#type: ty.as_bytes().to_vec(),
            description: description.into(),
            optional: true,
            ..Default::default()
        }
    }

    #[test]
    fn types_read_as_terraform_says_them() {
        let t = Type::from_json_bytes(br#"["list",["map","number"]]"#).unwrap();
        assert_eq!(type_words(&t), "List of Map of Number");
        assert_eq!(type_words(&Type::from_json_bytes(br#"["set","bool"]"#).unwrap()), "Set of Bool");
        assert_eq!(type_words(&Type::from_json_bytes(br#"["list",["object",{"a":"string"}]]"#).unwrap()), "List of Object");
    }

    #[test]
    fn sections_flags_and_nested_blocks() {
        let inner = pb::schema::Block {
            description: "Where it points.".into(),
            attributes: vec![pb::schema::Attribute { required: true, optional: false, ..attr("name", "\"string\"", "DNS name.") }],
            ..Default::default()
        };
        let root = pb::schema::Block {
            attributes: vec![
                pb::schema::Attribute { required: true, optional: false, ..attr("zone_id", "\"string\"", "The zone.\n\nReally.") },
                pb::schema::Attribute { sensitive: true, ..attr("secret", "\"string\"", "A secret.") },
                pb::schema::Attribute { computed: true, optional: false, ..attr("id", "\"string\"", "The id.") },
            ],
            block_types: vec![pb::schema::NestedBlock {
                type_name: "blue".into(),
                block: Some(inner),
                nesting: NestingMode::Single as i32,
                min_items: 1,
                max_items: 1,
            }],
            ..Default::default()
        };
        let replacing = BTreeSet::from(["zone_id".to_string()]);
        let md = schema_markdown(&root, &replacing).unwrap();
        let want = "### Required

- `blue` (Block, Required) Where it points. (see [below for nested schema](#nestedblock--blue))
- `zone_id` (String, Forces replacement) The zone. Really.

### Optional

- `secret` (String, Sensitive) A secret.

### Read-Only

- `id` (String) The id.

<a id=\"nestedblock--blue\"></a>
### Nested Schema for `blue`

Required:

- `name` (String) DNS name.

";
        assert_eq!(md, want);
    }
}
