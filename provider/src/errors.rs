//! Sentences for engine errors: what went wrong, and what to do about it.

use bluegreen_core::{AwsErrorKind, Error};

use crate::diag::Diagnostics;
use crate::value::Path;

/// Adds `err` to `diags`, pointing at `path` when the error is about a
/// value the user configured (a lookup that found nothing, say).
pub fn report(diags: &mut Diagnostics, err: &Error, path: Option<Path>, context: &str) {
    let (summary, detail) = match err {
        Error::NotFound { what, searched } => {
            let account = if matches!(*what, "hosted zone" | "record") {
                "that the provider's credentials point at the right account"
            } else {
                "that the provider's region and credentials point at the right account"
            };
            (format!("{} not found", capitalise(what)), format!("No {what} matched: {searched}. Check the value and {account}."))
        }
        Error::Ambiguous { what, searched, candidates } => {
            (format!("More than one {what} matches"), format!("The {searched} has several matches: {candidates}."))
        }
        Error::Aws(e) => match e.kind {
            AwsErrorKind::Auth => (
                format!("{context}: AWS refused the credentials"),
                format!("{e}.\n\nCheck the provider's credentials (access_key/secret_key, profile, assume_role or the AWS_* environment) and that they allow {}.", e.operation),
            ),
            AwsErrorKind::Throttling => (
                format!("{context}: AWS is throttling requests"),
                format!("{e}.\n\nThe provider already retried. Lower terraform's -parallelism or raise max_retries, then run again."),
            ),
            AwsErrorKind::Ambiguous => (
                format!("{context}: no answer from AWS"),
                format!("{e}.\n\nCheck network access to the AWS endpoint (and any endpoints override), then run again."),
            ),
            _ => (format!("{context}: {} failed", e.operation), format!("{e}.")),
        },
        Error::Config { attribute, message } => {
            let p = crate::diag::attr_path(&attribute.split('.').collect::<Vec<_>>());
            diags.error_at(p, format!("Invalid {attribute}"), format!("{}.", capitalise(message)));
            return;
        }
        Error::Invalid(m) => (format!("{context} failed"), m.clone()),
        Error::Refused { summary, detail } => ((*summary).to_string(), detail.clone()),
        Error::Cancelled(m) => (format!("{context}: stopped"), format!("Terraform asked the provider to stop ({m}).")),
    };
    match path {
        Some(p) => diags.error_at(p, summary, detail),
        None => diags.error(summary, detail),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}
