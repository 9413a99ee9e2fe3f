//! Diagnostics: what the user reads when something is wrong.
//!
//! The summary is a short title; the detail says what happened and how to fix
//! it; the path points Terraform at the configuration line. Internal bugs end
//! with a request to report them.

use crate::value::{Path, PathStep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<Path>,
}

/// Diagnostics accumulate, so one validation pass reports every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, None, summary, detail);
    }

    pub fn error_at(&mut self, path: Path, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, Some(path), summary, detail);
    }

    pub fn warning_at(&mut self, path: Path, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, Some(path), summary, detail);
    }

    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, None, summary, detail);
    }

    /// For states that mean the provider itself is wrong.
    pub fn bug(&mut self, what: impl std::fmt::Display) {
        self.error(
            "Provider bug",
            format!("{what}\n\nThis is a bug in terraform-provider-bluegreen; please report it with the configuration that caused it."),
        );
    }

    fn push(&mut self, severity: Severity, path: Option<Path>, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic { severity, summary: summary.into(), detail: detail.into(), path });
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d])
    }
}

/// Builds attribute paths tersely: `path!["blue", "alias", "name"]` or with
/// indices via [`PathBuilder::index`].
pub fn attr_path(names: &[&str]) -> Path {
    Path(names.iter().map(|n| PathStep::Attr((*n).to_string())).collect())
}

pub trait PathBuilder {
    fn attr(self, name: &str) -> Path;
    fn index(self, i: usize) -> Path;
}

impl PathBuilder for Path {
    fn attr(mut self, name: &str) -> Path {
        self.0.push(PathStep::Attr(name.to_string()));
        self
    }

    fn index(mut self, i: usize) -> Path {
        self.0.push(PathStep::Index(i as u64));
        self
    }
}
