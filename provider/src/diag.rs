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

    /// Adds `other`, leaving out its errors that repeat one already here (same attribute, same
    /// summary). Validation runs the schema's constraints first and the resource's own checks after;
    /// a value both reject (an empty `name`: "Invalid name" twice) would otherwise be reported twice
    /// for one mistake. A different problem with the same attribute is still reported.
    pub fn extend_unreported(&mut self, other: Diagnostics) {
        for d in other.0 {
            let reported = d.severity == Severity::Error
                && d.path.is_some()
                && self.0.iter().any(|x| x.severity == Severity::Error && x.path == d.path && x.summary == d.summary);
            if !reported {
                self.0.push(d);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_error_on_an_attribute_is_reported_once() {
        let mut schema = Diagnostics::new();
        schema.error_at(attr_path(&["name"]), "Invalid name", "name must not be empty.");
        let mut own = Diagnostics::new();
        own.error_at(attr_path(&["name"]), "Invalid name", "the name is empty.");
        own.error_at(attr_path(&["name"]), "Conflicting selectors", "kept: another problem.");
        own.warning_at(attr_path(&["name"]), "Odd name", "kept: a warning.");
        own.error_at(attr_path(&["traffic"]), "Invalid traffic", "kept: another attribute.");
        own.error("Whole config", "kept: no path.");
        schema.extend_unreported(own);
        let got: Vec<&str> = schema.iter().map(|d| d.detail.as_str()).collect();
        assert_eq!(
            got,
            ["name must not be empty.", "kept: another problem.", "kept: a warning.", "kept: another attribute.", "kept: no path."]
        );
    }
}
