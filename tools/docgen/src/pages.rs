//! Generated sections inside hand-written pages.
//!
//! A page is prose with sections between markers that the generator owns:
//!
//! ```text
//! <!-- generated:schema resource bluegreen_switch -->
//! …replaced on every run…
//! <!-- /generated -->
//! ```
//!
//! Directives: `description <kind> [<type>]` (the schema's own description),
//! `schema <kind> [<type>]` (the argument and attribute reference), with
//! `<kind>` one of `provider`, `resource`, `data-source`, `list-resource`, `action`; and
//! `example <path>` (a file from the repository, fenced).

use std::fmt;

use anyhow::{bail, Context, Result};

const START: &str = "<!-- generated:";
const END: &str = "<!-- /generated -->";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Provider,
    Resource,
    DataSource,
    /// A `list` block's `config` (Terraform ≥ 1.14 `terraform query`).
    ListResource,
    /// An `action` block's `config` (Terraform ≥ 1.14 `terraform apply -invoke`).
    Action,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "provider" => Kind::Provider,
            "resource" => Kind::Resource,
            "data-source" => Kind::DataSource,
            "list-resource" => Kind::ListResource,
            "action" => Kind::Action,
            other => bail!("unknown kind {other:?} (provider, resource, data-source, list-resource or action)"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Directive {
    /// The schema's own description.
    Description(Kind, String),
    /// The argument and attribute reference.
    Schema(Kind, String),
    /// A file of the repository (path relative to its root), fenced.
    Example(String),
}

impl Directive {
    pub fn parse(text: &str) -> Result<Directive> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let typed = |kind: &str, name: Option<&&str>| -> Result<(Kind, String)> {
            let kind = Kind::parse(kind)?;
            match (kind, name) {
                (Kind::Provider, None) => Ok((kind, String::new())),
                (Kind::Provider, Some(_)) => bail!("`provider` takes no type name"),
                (_, Some(n)) => Ok((kind, n.to_string())),
                (_, None) => bail!("a type name is needed, e.g. `schema resource bluegreen_switch`"),
            }
        };
        Ok(match words.as_slice() {
            ["description", kind, rest @ ..] if rest.len() <= 1 => {
                let (k, n) = typed(kind, rest.first())?;
                Directive::Description(k, n)
            }
            ["schema", kind, rest @ ..] if rest.len() <= 1 => {
                let (k, n) = typed(kind, rest.first())?;
                Directive::Schema(k, n)
            }
            ["example", path] => Directive::Example(path.to_string()),
            _ => bail!("unknown directive {text:?}"),
        })
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |k: &Kind| match k {
            Kind::Provider => "provider",
            Kind::Resource => "resource",
            Kind::DataSource => "data-source",
            Kind::ListResource => "list-resource",
            Kind::Action => "action",
        };
        let named = |k: &Kind, n: &str| if n.is_empty() { kind(k).to_string() } else { format!("{} {n}", kind(k)) };
        match self {
            Directive::Description(k, n) => write!(f, "description {}", named(k, n)),
            Directive::Schema(k, n) => write!(f, "schema {}", named(k, n)),
            Directive::Example(p) => write!(f, "example {p}"),
        }
    }
}

/// The page with every generated section rendered afresh, and the directives
/// it holds. Text outside the markers is kept byte for byte.
pub fn regenerate(text: &str, mut render: impl FnMut(&Directive) -> Result<String>) -> Result<(String, Vec<Directive>)> {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut lines = text.split_inclusive('\n').enumerate();
    while let Some((n, line)) = lines.next() {
        out.push_str(line);
        let t = line.trim();
        if t == END {
            bail!("line {}: {END} without a {START}… marker before it", n + 1);
        }
        let Some(inner) = t.strip_prefix(START).and_then(|r| r.strip_suffix("-->")) else { continue };
        let directive = Directive::parse(inner.trim()).with_context(|| format!("line {}", n + 1))?;
        let content = render(&directive).with_context(|| format!("line {}: {directive}", n + 1))?;
        // Skip the old content up to the end marker.
        let end = loop {
            match lines.next() {
                Some((_, l)) if l.trim() == END => break l,
                Some((m, l)) if l.trim().starts_with(START) => {
                    bail!("line {}: a new {START} marker before the {END} of line {}", m + 1, n + 1)
                }
                Some(_) => {}
                None => bail!("line {}: {directive} has no {END} marker after it", n + 1),
            }
        };
        if !line.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&content);
        if !content.is_empty() && !content.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(end);
        found.push(directive);
    }
    Ok((out, found))
}

/// A file as a fenced block; the language follows the extension.
pub fn fenced(path: &str, contents: &str) -> String {
    let lang = match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("tf" | "hcl") => "terraform",
        Some("sh") => "shell",
        Some("json") => "json",
        _ => "",
    };
    format!("```{lang}\n{}\n```\n", contents.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(d: &Directive) -> Result<String> {
        Ok(format!("[{d}]\n"))
    }

    #[test]
    fn replaces_only_between_markers_and_is_idempotent() {
        let page = "# Title\n\nProse.\n<!-- generated:schema resource bluegreen_switch -->\nstale\nlines\n<!-- /generated -->\nMore prose.\n<!-- generated:example examples/a.tf -->\n<!-- /generated -->\n";
        let (once, found) = regenerate(page, render).unwrap();
        assert_eq!(
            once,
            "# Title\n\nProse.\n<!-- generated:schema resource bluegreen_switch -->\n[schema resource bluegreen_switch]\n<!-- /generated -->\nMore prose.\n<!-- generated:example examples/a.tf -->\n[example examples/a.tf]\n<!-- /generated -->\n"
        );
        assert_eq!(found, [Directive::Schema(Kind::Resource, "bluegreen_switch".into()), Directive::Example("examples/a.tf".into())]);
        assert_eq!(regenerate(&once, render).unwrap().0, once);
    }

    #[test]
    fn broken_markers_are_errors() {
        for (page, says) in [
            ("<!-- generated:schema provider -->\nx\n", "no <!-- /generated --> marker"),
            ("<!-- /generated -->\n", "without a"),
            ("<!-- generated:schema provider -->\n<!-- generated:example a.tf -->\n<!-- /generated -->\n", "a new"),
            ("<!-- generated:schema resource -->\n<!-- /generated -->\n", "a type name is needed"),
            ("<!-- generated:table provider -->\n<!-- /generated -->\n", "unknown directive"),
        ] {
            let e = format!("{:#}", regenerate(page, render).unwrap_err());
            assert!(e.contains(says), "{page:?}: {e}");
        }
    }

    #[test]
    fn fences_by_extension() {
        assert_eq!(fenced("x/import.sh", "terraform import a b\n\n"), "```shell\nterraform import a b\n```\n");
        assert_eq!(fenced("x/resource.tf", "a = 1\n"), "```terraform\na = 1\n```\n");
    }
}
