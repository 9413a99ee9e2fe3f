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
        Error::Aws(aws) => {
            let e = sentence(&aws.to_string());
            match aws.kind {
                AwsErrorKind::Auth => (
                    format!("{context}: AWS refused the credentials"),
                    format!("{e}\n\nCheck the provider's credentials (access_key/secret_key, profile, assume_role or the AWS_* environment) and that they allow {}.", aws.operation),
                ),
                AwsErrorKind::Throttling => (
                    format!("{context}: AWS is throttling requests"),
                    format!("{e}\n\nThe provider already retried. Lower terraform's -parallelism or raise max_retries, then run again."),
                ),
                // A 5xx is an answer: AWS failed on its side. No code: the request timed out or the connection dropped.
                AwsErrorKind::Ambiguous if aws.code.is_some() => (
                    format!("{context}: AWS failed the request"),
                    format!(
                        "{e}\n\nA failure on AWS's side, usually brief; the provider already retried. Run again in a few minutes; if it \
                         persists, check the AWS Health Dashboard."
                    ),
                ),
                AwsErrorKind::Ambiguous => (
                    format!("{context}: no answer from AWS"),
                    format!("{e}\n\nCheck network access to the AWS endpoint (and any endpoints override), then run again."),
                ),
                _ => (format!("{context}: {} failed", aws.operation), e),
            }
        }
        Error::Config { attribute, message } => {
            let p = crate::diag::attr_path(&attribute.split('.').collect::<Vec<_>>());
            diags.error_at(p, format!("Invalid {attribute}"), format!("{}.", capitalise(message)));
            return;
        }
        Error::Invalid(m) => (format!("{context} failed"), m.clone()),
        Error::Refused { summary, detail } => ((*summary).to_string(), detail.clone()),
        Error::Unfinished { summary, detail } => ((*summary).to_string(), detail.clone()),
        Error::Cancelled(m) => (format!("{context}: stopped"), format!("Terraform asked the provider to stop ({m}).")),
    };
    match path {
        Some(p) => diags.error_at(p, summary, detail),
        None => diags.error(summary, detail),
    }
}

/// `s` ending in a full stop (AWS's messages sometimes have one already).
fn sentence(s: &str) -> String {
    let s = s.trim_end();
    if s.ends_with(['.', '!', '?']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluegreen_core::AwsError;

    fn summary_and_detail(e: AwsError) -> (String, String) {
        let mut diags = Diagnostics::new();
        report(&mut diags, &Error::Aws(e), None, "Shifting traffic");
        (diags.0[0].summary.clone(), diags.0[0].detail.clone())
    }

    #[test]
    fn a_5xx_is_reported_as_aws_failing_and_silence_as_no_answer() {
        let (summary, detail) = summary_and_detail(
            AwsError::new(
                "ChangeResourceRecordSets",
                AwsErrorKind::Ambiguous,
                "The request has failed due to a temporary failure of the server.",
            )
            .with_code("ServiceUnavailable"),
        );
        assert_eq!(summary, "Shifting traffic: AWS failed the request");
        assert!(
            detail.starts_with("ChangeResourceRecordSets failed: ServiceUnavailable") && detail.contains("Health Dashboard"),
            "{detail}"
        );

        let (summary, detail) = summary_and_detail(AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Ambiguous, "connection reset"));
        assert_eq!(summary, "Shifting traffic: no answer from AWS");
        assert!(detail.contains("Check network access"), "{detail}");
    }
}
