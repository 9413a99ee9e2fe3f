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

    /// Whether terraform was run with `-json`: stdout is JSON, not text.
    pub fn is_json(&self) -> bool {
        self.args.iter().any(|a| a == "-json")
    }

    /// Errors and warnings terraform reported, in order: from the JSON on
    /// stdout for a `-json` command ([`Diagnostic::parse_json`]), else from
    /// the text (terraform 1.0.3 prints errors on stderr and warnings on
    /// stdout). Anything printed as text on stderr counts either way.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all = Diagnostic::parse(&self.stderr);
        all.extend(if self.is_json() { Diagnostic::parse_json(&self.stdout) } else { Diagnostic::parse(&self.stdout) });
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

    /// The one error terraform reported; panics (showing the output) unless there is exactly one.
    #[track_caller]
    pub fn only_error(&self) -> Diagnostic {
        let mut errors = self.errors();
        if errors.len() != 1 {
            panic!("expected exactly one error, found {}\n{self}", errors.len());
        }
        errors.remove(0)
    }

    /// stdout as a person reads it: for a `-json` command, each message's
    /// `@message` and each diagnostic rendered as terraform prints it.
    pub fn human_stdout(&self) -> String {
        if !self.is_json() {
            return self.stdout.clone();
        }
        if serde_json::from_str::<serde_json::Value>(&self.stdout).is_ok_and(|v| v["diagnostics"].is_array()) {
            return Diagnostic::parse_json(&self.stdout).iter().map(|d| format!("{d}\n")).collect::<Vec<_>>().join("\n");
        }
        let mut text = String::new();
        for line in self.stdout.lines() {
            let Ok(m) = serde_json::from_str::<serde_json::Value>(line) else {
                text.push_str(line);
                text.push('\n');
                continue;
            };
            match Diagnostic::from_json(&m["diagnostic"]).filter(|_| m["type"] == "diagnostic") {
                Some(d) => text.push_str(&format!("\n{d}\n\n")),
                None => {
                    text.push_str(m["@message"].as_str().unwrap_or(line));
                    text.push('\n');
                }
            }
        }
        text
    }

    /// Whether stdout has a line equal to `line` once runs of white space are
    /// collapsed on both sides (terraform aligns `=` in plans, so
    /// `~ traffic = 0 -> 50` matches `~ traffic      = 0 -> 50`).
    pub fn has_line(&self, line: &str) -> bool {
        let want = collapse_ws(line);
        self.stdout.lines().any(|l| collapse_ws(l) == want)
    }

    /// Panics with the whole output unless stdout has `line` (see [`Output::has_line`]).
    #[track_caller]
    pub fn assert_line(&self, line: &str) -> &Self {
        if !self.has_line(line) {
            panic!("the output has no line {line:?}\n{self}");
        }
        self
    }

    /// The provider's INFO log lines, as terraform writes them to stderr with `TF_LOG=INFO`.
    pub fn provider_info_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains("[INFO]") && l.contains("provider.terraform-provider-bluegreen: ")).collect()
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
        let json = if self.is_json() { " (JSON, as text)" } else { "" };
        writeln!(f, "---------- stdout{json} ----------\n{}", self.human_stdout())?;
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
