//! `make docs` / `make docs-check`: the reference parts of `docs/` (and the
//! README's quick start) from the schema the provider serves and `examples/`.
//!
//! The schemas come from the provider's own `GetProviderSchema` handler —
//! the answer Terraform gets — so the docs show the same types, flags and
//! descriptions. "Forces replacement" comes from asking each resource's plan
//! (see `Resource::attributes_forcing_replacement`). Prose stays hand-written;
//! only the sections between `<!-- generated:… -->` markers are rewritten
//! (see `pages`), including the examples, which are copied from `examples/`
//! so a page cannot drift from the configurations the tests run.
//!
//! ```text
//! make docs         # target/debug/bluegreen-docgen: rewrite stale sections
//! make docs-check   # target/debug/bluegreen-docgen --check: exit 1 if anything is stale
//! ```

mod pages;
mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use bluegreen_provider::proto::tfplugin6 as pb;
use bluegreen_provider::proto::tfplugin6::provider_server::Provider;
use bluegreen_provider::server::BlueGreenProvider;
use pages::{Directive, Kind};

/// Everything the provider serves that the docs show.
struct Served {
    provider: pb::Schema,
    resources: BTreeMap<String, pb::Schema>,
    data_sources: BTreeMap<String, pb::Schema>,
    list_resources: BTreeMap<String, pb::Schema>,
    actions: BTreeMap<String, pb::Schema>,
    /// Per resource type: dotted paths of the attributes whose change forces replacement.
    replacing: BTreeMap<String, BTreeSet<String>>,
    /// Resource types served under a second name (`canary_listener`): documented on the page of the type they are
    /// another name of, not on a page of their own.
    aliases: BTreeSet<String>,
}

impl Served {
    async fn load() -> Result<Served> {
        let p = BlueGreenProvider::new();
        let resp = p
            .get_provider_schema(tonic::Request::new(pb::get_provider_schema::Request::default()))
            .await
            .map_err(|s| anyhow!("GetProviderSchema: {s}"))?
            .into_inner();
        if let Some(d) = resp.diagnostics.first() {
            bail!("GetProviderSchema: {}: {}", d.summary, d.detail);
        }
        let mut replacing = BTreeMap::new();
        let aliases = p.resources().filter(|r| r.alias_of().is_some()).map(|r| r.type_name().to_string()).collect();
        for r in p.resources() {
            let paths = r.attributes_forcing_replacement().await.map_err(|e| anyhow!(e))?;
            // `.blue.alias.name` → `blue.alias.name`; list blocks have one set of docs, so `[0]` goes.
            let dotted = paths.iter().map(|p| p.to_string().replace("[0]", "").trim_start_matches('.').to_string()).collect();
            replacing.insert(r.type_name().to_string(), dotted);
        }
        Ok(Served {
            provider: resp.provider.context("GetProviderSchema: no provider schema")?,
            resources: resp.resource_schemas.into_iter().collect(),
            data_sources: resp.data_source_schemas.into_iter().collect(),
            list_resources: resp.list_resource_schemas.into_iter().collect(),
            actions: resp.action_schemas.into_iter().filter_map(|(n, a)| Some((n, a.schema?))).collect(),
            replacing,
            aliases,
        })
    }

    fn schema(&self, kind: Kind, name: &str) -> Result<&pb::schema::Block> {
        let s = match kind {
            Kind::Provider => Some(&self.provider),
            Kind::Resource => self.resources.get(name),
            Kind::DataSource => self.data_sources.get(name),
            Kind::ListResource => self.list_resources.get(name),
            Kind::Action => self.actions.get(name),
        };
        s.and_then(|s| s.block.as_ref()).ok_or_else(|| anyhow!("the provider serves no {kind:?} {name:?}"))
    }
}

/// The page of a resource or data source type: the registry's file name
/// without the provider prefix (`bluegreen_switch` → `switch.md`).
fn page_of(kind: Kind, type_name: &str) -> String {
    let short = type_name.strip_prefix("bluegreen_").unwrap_or(type_name);
    match kind {
        Kind::Provider => "docs/index.md".into(),
        Kind::Resource => format!("docs/resources/{short}.md"),
        Kind::DataSource => format!("docs/data-sources/{short}.md"),
        Kind::ListResource => format!("docs/list-resources/{short}.md"),
        Kind::Action => format!("docs/actions/{short}.md"),
    }
}

/// What each page must contain, so that every served type is documented with its example and import syntax.
fn required_sections(served: &Served) -> BTreeMap<String, Vec<Directive>> {
    let mut want: BTreeMap<String, Vec<Directive>> = BTreeMap::new();
    want.insert(
        page_of(Kind::Provider, ""),
        vec![Directive::Schema(Kind::Provider, String::new()), Directive::Example("examples/provider/provider.tf".into())],
    );
    for name in served.resources.keys().filter(|n| !served.aliases.contains(*n)) {
        want.insert(
            page_of(Kind::Resource, name),
            vec![
                Directive::Description(Kind::Resource, name.clone()),
                Directive::Schema(Kind::Resource, name.clone()),
                Directive::Example(format!("examples/resources/{name}/resource.tf")),
                Directive::Example(format!("examples/resources/{name}/import.sh")),
            ],
        );
    }
    for name in served.list_resources.keys() {
        want.insert(
            page_of(Kind::ListResource, name),
            vec![
                Directive::Description(Kind::ListResource, name.clone()),
                Directive::Schema(Kind::ListResource, name.clone()),
                Directive::Example(format!("examples/list-resources/{name}/list.tfquery.hcl")),
            ],
        );
    }
    for name in served.actions.keys() {
        want.insert(
            page_of(Kind::Action, name),
            vec![
                Directive::Description(Kind::Action, name.clone()),
                Directive::Schema(Kind::Action, name.clone()),
                Directive::Example(format!("examples/actions/{name}/action.tf")),
            ],
        );
    }
    for name in served.data_sources.keys() {
        want.insert(
            page_of(Kind::DataSource, name),
            vec![
                Directive::Description(Kind::DataSource, name.clone()),
                Directive::Schema(Kind::DataSource, name.clone()),
                Directive::Example(format!("examples/data-sources/{name}/data-source.tf")),
            ],
        );
    }
    want
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            markdown_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    Ok(())
}

fn render(served: &Served, root: &Path, d: &Directive) -> Result<String> {
    match d {
        Directive::Description(kind, name) => Ok(render::description_markdown(served.schema(*kind, name)?)),
        Directive::Schema(kind, name) => {
            let none = BTreeSet::new();
            let replacing = if *kind == Kind::Resource { served.replacing.get(name).unwrap_or(&none) } else { &none };
            render::schema_markdown(served.schema(*kind, name)?, replacing)
        }
        Directive::Example(path) => {
            let text = std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))?;
            Ok(pages::fenced(path, &text))
        }
    }
}

/// Regenerates every page under `docs/` and the README; returns the pages that changed (written unless `check`).
fn run(root: &Path, check: bool) -> Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let served = runtime.block_on(Served::load())?;
    let mut files = Vec::new();
    markdown_files(&root.join("docs"), &mut files)?;
    files.sort();
    // The README's quick start is an example too.
    files.push(root.join("README.md"));

    let mut problems = Vec::new();
    let mut stale = Vec::new();
    let mut found: BTreeMap<String, Vec<Directive>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(root).unwrap_or(file).display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {rel}"))?;
        match pages::regenerate(&text, |d| render(&served, root, d)) {
            Ok((new, directives)) => {
                if new != text {
                    if !check {
                        std::fs::write(file, &new).with_context(|| format!("writing {rel}"))?;
                    }
                    stale.push(rel.clone());
                }
                found.insert(rel, directives);
            }
            Err(e) => problems.push(format!("{rel}: {e:#}")),
        }
    }
    for (page, want) in required_sections(&served) {
        match found.get(&page) {
            None if !problems.iter().any(|p| p.starts_with(&page)) => problems.push(format!(
                "{page} is missing: every served type needs a page with {}",
                want.iter().map(|d| format!("<!-- generated:{d} -->")).collect::<Vec<_>>().join(", ")
            )),
            None => {}
            Some(have) => {
                for d in want.iter().filter(|d| !have.contains(d)) {
                    problems.push(format!("{page} has no <!-- generated:{d} --> section"));
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(stale)
}

fn main() -> ExitCode {
    let mut check = false;
    let mut root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--check" => check = true,
            "--root" => match args.next() {
                Some(r) => root = PathBuf::from(r),
                None => {
                    eprintln!("docgen: --root needs a directory");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("docgen: unknown argument {other:?}\nusage: docgen [--check] [--root <repository>]");
                return ExitCode::from(2);
            }
        }
    }
    let root = root.canonicalize().unwrap_or(root);
    match run(&root, check) {
        Ok(stale) if stale.is_empty() => {
            println!("docs: up to date with the provider's schema and examples/");
            ExitCode::SUCCESS
        }
        Ok(stale) if check => {
            eprintln!("docs: stale, the provider's schema or examples/ changed since they were generated:");
            for s in &stale {
                eprintln!("  {s}");
            }
            eprintln!("Run `make docs` and commit the result.");
            ExitCode::FAILURE
        }
        Ok(stale) => {
            for s in &stale {
                println!("docs: updated {s}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("docs: {e:#}");
            ExitCode::FAILURE
        }
    }
}
