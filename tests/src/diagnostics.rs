//! Terraform's diagnostics, as the tests read them.

use std::fmt;

use crate::Output;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One diagnostic as terraform prints it without colour:
///
/// ```text
/// Error: Invalid port
///
///   with data.bluegreen_listener.l,
///   on main.tf line 10, in data "bluegreen_listener" "l":
///   10:   port = 70000
///
/// port must be between 1 and 65535, got 70000.
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    /// Everything after the summary line, as printed (source pointer, then detail).
    pub body: String,
}

impl Diagnostic {
    /// Splits terraform's text output into diagnostics. Lines before the first
    /// `Error:`/`Warning:` header (and log lines) are not part of any.
    pub fn parse(text: &str) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = Vec::new();
        for line in text.lines() {
            let header = line
                .strip_prefix("Error: ")
                .map(|s| (Severity::Error, s))
                .or_else(|| line.strip_prefix("Warning: ").map(|s| (Severity::Warning, s)));
            match (header, out.last_mut()) {
                (Some((severity, summary)), _) => {
                    out.push(Diagnostic { severity, summary: summary.trim().to_string(), body: String::new() })
                }
                (None, Some(d)) => {
                    d.body.push_str(line);
                    d.body.push('\n');
                }
                (None, None) => {}
            }
        }
        for d in &mut out {
            d.body = d.body.trim().to_string();
        }
        out
    }

    /// `(file, line)` from `on main.tf line 7, in …`.
    pub fn subject(&self) -> Option<(String, usize)> {
        let line = self.body.lines().find_map(|l| l.trim_start().strip_prefix("on "))?;
        let (file, rest) = line.split_once(" line ")?;
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((file.to_string(), n.parse().ok()?))
    }

    /// The detail text: the body without the `with …`/`on …` pointer and the
    /// quoted source lines, re-joined into one line (terraform wraps at 78
    /// columns, so words may be split across lines).
    pub fn detail(&self) -> String {
        let mut paragraphs = self.body.split("\n\n").map(str::trim).collect::<Vec<_>>();
        if paragraphs.first().is_some_and(|p| p.starts_with("with ") || p.starts_with("on ")) {
            paragraphs.remove(0);
        }
        paragraphs.join("\n\n").split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}\n\n{}", self.severity, self.summary, self.body)
    }
}

/// Text of a Rust `Debug` dump of an SDK error, which no diagnostic may show.
pub const DEBUG_DUMPS: &[&str] = &["DispatchFailure(", "ConnectorError", "{ source:"];

/// The diagnostic lines of `out` holding a Rust debug dump (log lines, which
/// start with a timestamp or `[`, are not diagnostics and are skipped).
pub fn debug_dumps(out: &Output) -> Vec<String> {
    out.diagnostics()
        .iter()
        .flat_map(|d| std::iter::once(d.summary.clone()).chain(d.body.lines().map(str::to_string)).collect::<Vec<_>>())
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with('[') || t.starts_with("20") && t.get(4..5) == Some("-"))
        })
        .filter(|l| DEBUG_DUMPS.iter().any(|d| l.contains(d)))
        .collect()
}

/// Every terraform command the suites run passes through here: no
/// diagnostic may carry a Rust debug dump (issue 12).
#[track_caller]
pub(crate) fn assert_no_debug_dump(out: &Output) {
    let dumps = debug_dumps(out);
    if !dumps.is_empty() {
        panic!("a diagnostic holds a Rust debug dump: {dumps:?}\n{out}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim from terraform 1.0.3 (`plan -no-color`, stderr).
    const TF_ERRORS: &str = "
Error: Missing load_balancer_arn

  with data.bluegreen_listener.l,
  on main.tf line 9, in data \"bluegreen_listener\" \"l\":
   9: data \"bluegreen_listener\" \"l\" {

port selects a listener of the load balancer named by load_balancer_arn; set
it too.

Error: Invalid port

  with data.bluegreen_listener.l,
  on main.tf line 10, in data \"bluegreen_listener\" \"l\":
  10:   port = 70000

port must be between 1 and 65535, got 70000.
";

    #[test]
    fn parses_terraform_diagnostics() {
        let d = Diagnostic::parse(TF_ERRORS);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!(d[0].summary, "Missing load_balancer_arn");
        assert_eq!(d[0].subject(), Some(("main.tf".to_string(), 9)));
        assert_eq!(d[0].detail(), "port selects a listener of the load balancer named by load_balancer_arn; set it too.");
        assert_eq!(d[1].subject(), Some(("main.tf".to_string(), 10)));
        assert!(d[1].body.contains("10:   port = 70000"));
        assert_eq!(d[1].detail(), "port must be between 1 and 65535, got 70000.");
    }

    #[test]
    fn diagnostics_without_a_source_pointer() {
        let d = Diagnostic::parse(
            "Warning: Provider development overrides are in effect\n\nThe following provider development overrides are set\n",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].subject(), None);
        assert_eq!(d[0].detail(), "The following provider development overrides are set");
    }
}
