//! The result of one terraform command, and text helpers for asserting on it.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

use crate::{Diagnostic, Severity, TerraformVersion};

/// The result of one terraform command. Never a panic by itself, so tests
/// can assert on failures.
#[derive(Debug, Clone)]
pub struct Output {
    /// The arguments terraform was run with (after `terraform`).
    pub args: Vec<String>,
    /// The terraform that ran them.
    pub terraform_version: TerraformVersion,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (`None` if terraform was killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Errors and warnings terraform printed, in order. Terraform 1.0.3
    /// prints errors on stderr and warnings on stdout.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all = Diagnostic::parse(&self.stderr);
        all.extend(Diagnostic::parse(&self.stdout));
        all
    }

    pub fn errors(&self) -> Vec<Diagnostic> {
        self.diagnostics().into_iter().filter(|d| d.severity == Severity::Error).collect()
    }

    /// The one error with this summary; panics (showing the output) unless
    /// there is exactly one.
    pub fn error(&self, summary: &str) -> Diagnostic {
        let mut found: Vec<Diagnostic> = self.errors().into_iter().filter(|d| d.summary == summary).collect();
        if found.len() != 1 {
            panic!("expected exactly one error with summary {summary:?}, found {}\n{self}", found.len());
        }
        found.remove(0)
    }

    /// Whether stdout has a line equal to `line` once runs of white space are
    /// collapsed on both sides (terraform aligns `=` in plans, so
    /// `~ traffic = 0 -> 50` matches `~ traffic      = 0 -> 50`).
    pub fn has_line(&self, line: &str) -> bool {
        let want = collapse_ws(line);
        self.stdout.lines().any(|l| collapse_ws(l) == want)
    }

    /// Panics with the whole output unless terraform succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        if !self.success() {
            panic!("terraform failed\n{self}");
        }
        self
    }

    /// Panics with the whole output unless terraform failed.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        if self.success() {
            panic!("terraform succeeded, but a failure was expected\n{self}");
        }
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: terraform {} (terraform {})", self.args.join(" "), self.terraform_version)?;
        writeln!(f, "status: {} after {:.1?}", self.status, self.elapsed)?;
        writeln!(f, "---------- stdout ----------\n{}", self.stdout)?;
        write!(f, "---------- stderr ----------\n{}", self.stderr)
    }
}

/// `text` with every run of white space turned into one space, trimmed.
pub fn collapse_ws(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The 1-based number of the first line of `text` containing `needle`
/// (panics if none does): how tests say which line a diagnostic must point at.
#[track_caller]
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_of("a\nb = 1\nc\n", "b ="), 2);
    }
}
