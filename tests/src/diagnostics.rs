//! Terraform's diagnostics, as the tests read them.

use std::fmt;

use crate::Output;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One diagnostic: its summary and detail, and where in the configuration it
/// points.
///
/// Read from terraform's JSON output (`validate -json`, and the
/// `"type":"diagnostic"` messages of `plan -json`/`apply -json`; the same shape
/// in 1.0.3 and 1.15.5) by [`Diagnostic::parse_json`], or from its human output
/// without colour by [`Diagnostic::parse`]:
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
    /// The detail as terraform has it: exact from JSON; from the human output
    /// as printed (wrapped at 78 columns). [`Diagnostic::detail`] is it on one line.
    pub raw_detail: String,
    /// The resource or data source it is about (`data.bluegreen_listener.l`), when terraform says.
    pub address: Option<String>,
    /// Where it points: the start of the attribute (or block) at fault.
    pub range: Option<Range>,
    /// The configuration quoted with it.
    pub snippet: Option<Snippet>,
    /// Human output only: everything after the summary line, as printed
    /// (source pointer, then detail). Empty for a diagnostic read from JSON.
    pub body: String,
}

/// A position in the configuration: file and 1-based line (and column, from JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub filename: String,
    pub line: usize,
    pub column: Option<usize>,
}

/// The configuration a diagnostic quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The enclosing block (`data "bluegreen_listener" "l"`), from JSON.
    pub context: Option<String>,
    /// The quoted line(s), as in the file.
    pub code: String,
    /// The line number of the first line of `code`.
    pub start_line: usize,
    /// The byte offsets in `code` of the part at fault (JSON only).
    pub highlight: Option<(usize, usize)>,
}

impl Diagnostic {
    /// Splits terraform's text output into diagnostics. Lines before the first
    /// `Error:`/`Warning:` header (and log lines) are not part of any.
    pub fn parse(text: &str) -> Vec<Diagnostic> {
        let mut out: Vec<(Severity, String, String)> = Vec::new();
        for line in text.lines() {
            let header = line
                .strip_prefix("Error: ")
                .map(|s| (Severity::Error, s))
                .or_else(|| line.strip_prefix("Warning: ").map(|s| (Severity::Warning, s)));
            match (header, out.last_mut()) {
                (Some((severity, summary)), _) => out.push((severity, summary.trim().to_string(), String::new())),
                (None, Some((_, _, body))) => {
                    body.push_str(line);
                    body.push('\n');
                }
                (None, None) => {}
            }
        }
        out.into_iter().map(|(severity, summary, body)| Diagnostic::from_text(severity, summary, body.trim().to_string())).collect()
    }

    /// One diagnostic of the human output: the pointer paragraph (`with …`,
    /// `on main.tf line N, in …:`, the quoted line `N: code`), then the detail.
    fn from_text(severity: Severity, summary: String, body: String) -> Diagnostic {
        let mut paragraphs: Vec<&str> = body.split("\n\n").collect();
        let pointer = paragraphs.first().filter(|p| {
            let p = p.trim_start();
            p.starts_with("with ") || p.starts_with("on ")
        });
        let (mut address, mut range, mut snippet) = (None, None, None);
        if let Some(pointer) = pointer {
            for l in pointer.lines().map(str::trim_start) {
                if let Some(a) = l.strip_prefix("with ") {
                    address = Some(a.trim_end_matches(',').to_string());
                } else if let Some((file, rest)) = l.strip_prefix("on ").and_then(|l| l.split_once(" line ")) {
                    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    range = n.parse().ok().map(|line| Range { filename: file.to_string(), line, column: None });
                } else if let Some(r) = &range {
                    if let Some(code) = l.strip_prefix(&format!("{}: ", r.line)) {
                        snippet = Some(Snippet { context: None, code: code.to_string(), start_line: r.line, highlight: None });
                    }
                }
            }
            paragraphs.remove(0);
        }
        let raw_detail = paragraphs.iter().map(|p| p.trim()).collect::<Vec<_>>().join("\n\n");
        Diagnostic { severity, summary, raw_detail, address, range, snippet, body }
    }

    /// The diagnostics of terraform's JSON output: `validate -json`'s one
    /// object, or the `"type":"diagnostic"` lines of a `-json` stream (other
    /// lines are skipped).
    pub fn parse_json(text: &str) -> Vec<Diagnostic> {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            if let Some(all) = v["diagnostics"].as_array() {
                return all.iter().filter_map(Diagnostic::from_json).collect();
            }
        }
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["type"] == "diagnostic")
            .filter_map(|m| Diagnostic::from_json(&m["diagnostic"]))
            .collect()
    }

    /// One diagnostic object: `severity`, `summary`, `detail`, and when the
    /// diagnostic has a subject, `address`, `range` and `snippet`.
    pub fn from_json(d: &serde_json::Value) -> Option<Diagnostic> {
        let severity = match d["severity"].as_str()? {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            _ => return None,
        };
        let usize_of = |v: &serde_json::Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
        let range = d.get("range").and_then(|r| {
            Some(Range {
                filename: r["filename"].as_str()?.to_string(),
                line: usize_of(&r["start"]["line"])?,
                column: usize_of(&r["start"]["column"]),
            })
        });
        let snippet = d.get("snippet").and_then(|s| {
            Some(Snippet {
                context: s["context"].as_str().map(str::to_string),
                code: s["code"].as_str()?.to_string(),
                start_line: usize_of(&s["start_line"])?,
                highlight: usize_of(&s["highlight_start_offset"]).zip(usize_of(&s["highlight_end_offset"])),
            })
        });
        Some(Diagnostic {
            severity,
            summary: d["summary"].as_str()?.to_string(),
            raw_detail: d["detail"].as_str().unwrap_or_default().to_string(),
            address: d["address"].as_str().map(str::to_string),
            range,
            snippet,
            body: String::new(),
        })
    }

    /// `(file, line)` the diagnostic points at.
    pub fn subject(&self) -> Option<(String, usize)> {
        self.range.as_ref().map(|r| (r.filename.clone(), r.line))
    }

    /// The detail on one line, white space collapsed (terraform wraps its
    /// human output at 78 columns, so words may be split across lines).
    pub fn detail(&self) -> String {
        crate::collapse_ws(&self.raw_detail)
    }

    /// Whether the quoted configuration has line `line` reading exactly `text`.
    pub fn quotes(&self, line: usize, text: &str) -> bool {
        self.snippet.as_ref().is_some_and(|s| s.code.lines().zip(s.start_line..).any(|(code, n)| n == line && code == text))
    }

    /// The part of the quoted configuration at fault (`70000` in `port = 70000`), from JSON.
    pub fn highlighted(&self) -> Option<&str> {
        let s = self.snippet.as_ref()?;
        let (from, to) = s.highlight?;
        s.code.get(from..to)
    }

    /// The attribute the diagnostic points at: the name before `=` on the
    /// quoted line (`port` for `  port = 70000`); `None` when it points at a
    /// block header.
    pub fn attribute(&self) -> Option<&str> {
        let s = self.snippet.as_ref()?;
        let (name, _) = s.code.lines().next()?.split_once('=')?;
        let name = name.trim();
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
    }
}

impl fmt::Display for Diagnostic {
    /// As terraform prints it (the human output as it was, or the JSON rendered alike).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}\n\n", self.severity, self.summary)?;
        if !self.body.is_empty() {
            return f.write_str(&self.body);
        }
        if let Some(a) = &self.address {
            writeln!(f, "  with {a},")?;
        }
        if let Some(r) = &self.range {
            let context = self.snippet.as_ref().and_then(|s| s.context.as_deref()).map(|c| format!(", in {c}")).unwrap_or_default();
            writeln!(f, "  on {} line {}{context}:", r.filename, r.line)?;
        }
        if let Some(s) = &self.snippet {
            for (code, n) in s.code.lines().zip(s.start_line..) {
                writeln!(f, "  {n:>2}: {code}")?;
            }
        }
        if self.address.is_some() || self.range.is_some() {
            writeln!(f)?;
        }
        f.write_str(&self.raw_detail)
    }
}

/// Text of a Rust `Debug` dump of an SDK error, which no diagnostic may show.
pub const DEBUG_DUMPS: &[&str] = &["DispatchFailure(", "ConnectorError", "{ source:", "Request {", "SdkBody"];

/// The diagnostic lines of `out` holding a Rust debug dump (log lines, which
/// start with a timestamp or `[`, are not diagnostics and are skipped).
pub fn debug_dumps(out: &Output) -> Vec<String> {
    out.diagnostics()
        .iter()
        .flat_map(|d| {
            let text = if d.body.is_empty() { &d.raw_detail } else { &d.body };
            std::iter::once(d.summary.clone()).chain(text.lines().map(str::to_string)).collect::<Vec<_>>()
        })
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

        assert_eq!(d[1].address.as_deref(), Some("data.bluegreen_listener.l"));
        assert!(d[1].quotes(10, "  port = 70000"), "{:?}", d[1].snippet);
        assert!(!d[1].quotes(9, "  port = 70000"));
        assert_eq!(d[1].attribute(), Some("port"));
        assert_eq!(d[0].attribute(), None, "points at the block header");
    }

    /// Verbatim from terraform 1.0.3 `plan -json` (1.15.5 prints the same
    /// diagnostic objects; only `ui` and `terraform` differ).
    const PLAN_JSON: &str = r#"{"@level":"info","@message":"Terraform 1.0.3","@module":"terraform.ui","@timestamp":"2026-11-29T23:07:06.510827Z","terraform":"1.0.3","type":"version","ui":"0.1.0"}
{"@level":"warn","@message":"Warning: Provider development overrides are in effect","@module":"terraform.ui","@timestamp":"2026-11-29T23:07:06.516411Z","diagnostic":{"severity":"warning","summary":"Provider development overrides are in effect","detail":"The following provider development overrides are set in the CLI configuration:\n - cutover/bluegreen in /work/target/debug\n\nThe behavior may therefore not match any released version of the provider and applying changes may cause the state to become incompatible with published releases."},"type":"diagnostic"}
{"@level":"error","@message":"Error: Invalid port","@module":"terraform.ui","@timestamp":"2026-11-29T23:07:06.757552Z","diagnostic":{"severity":"error","summary":"Invalid port","detail":"port must be between 1 and 65535, got 70000.","address":"data.bluegreen_listener.l","range":{"filename":"main.tf","start":{"line":3,"column":23,"byte":171},"end":{"line":3,"column":28,"byte":176}},"snippet":{"context":"data \"bluegreen_listener\" \"l\"","code":"  port              = 70000","start_line":3,"highlight_start_offset":22,"highlight_end_offset":27,"values":[]}},"type":"diagnostic"}
"#;

    #[test]
    fn parses_json_diagnostics_of_a_plan() {
        let d = Diagnostic::parse_json(PLAN_JSON);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].severity, d[0].subject()), (Severity::Warning, None));
        assert!(d[0].raw_detail.contains("\n - cutover/bluegreen in"), "{:?}", d[0].raw_detail);
        let e = &d[1];
        assert_eq!((e.severity, e.summary.as_str()), (Severity::Error, "Invalid port"));
        assert_eq!(e.detail(), "port must be between 1 and 65535, got 70000.");
        assert_eq!(e.address.as_deref(), Some("data.bluegreen_listener.l"));
        assert_eq!(e.range, Some(Range { filename: "main.tf".into(), line: 3, column: Some(23) }));
        assert_eq!(e.subject(), Some(("main.tf".to_string(), 3)));
        assert!(e.quotes(3, "  port              = 70000"));
        assert_eq!((e.highlighted(), e.attribute()), (Some("70000"), Some("port")));
        assert_eq!(e.snippet.as_ref().and_then(|s| s.context.as_deref()), Some("data \"bluegreen_listener\" \"l\""));
        // Rendered as terraform would print it, for logs.
        let shown = e.to_string();
        assert!(shown.contains("on main.tf line 3, in data \"bluegreen_listener\" \"l\":\n   3:   port              = 70000\n"), "{shown}");
    }

    #[test]
    fn parses_validate_json() {
        let v = serde_json::json!({
            "format_version": "1.0", "valid": false, "error_count": 1, "warning_count": 0,
            "diagnostics": [{"severity": "error", "summary": "Invalid port", "detail": "port must be between 1 and 65535, got 70000.",
                "range": {"filename": "main.tf", "start": {"line": 3, "column": 23, "byte": 171}, "end": {"line": 3, "column": 28, "byte": 176}}}]
        });
        let d = Diagnostic::parse_json(&serde_json::to_string_pretty(&v).expect("json"));
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].subject(), d[0].snippet.as_ref()), (Some(("main.tf".to_string(), 3)), None));
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
