//! Sentences for engine errors: what went wrong, and what to do about it.

use bluegreen_core::{AwsErrorKind, Error, NotFoundKind, Refusal};

use crate::diag::Diagnostics;
use crate::value::Path;
use crate::wording::capitalise;

/// Adds `err` to `diags`, pointing at `path` when the error is about a
/// value the user configured (a lookup that found nothing, say).
pub fn report(diags: &mut Diagnostics, err: &Error, path: Option<Path>, context: &str) {
    let (summary, detail) = match err {
        Error::NotFound { what, searched } => {
            let account = if matches!(what, NotFoundKind::HostedZone | NotFoundKind::Record) {
                "that the provider's credentials point at the right account"
            } else {
                "that the provider's region and credentials point at the right account"
            };
            (
                format!("{} not found", capitalise(&what.to_string())),
                format!("No {what} matched: {searched}. Check the value and {account}."),
            )
        }
        Error::Ambiguous { what, searched, candidates } => {
            (format!("More than one {what} matches"), format!("The {searched} has several matches: {candidates}."))
        }
        Error::Aws(aws) => aws_sentences(aws, context),
        Error::Config(c) => {
            let (p, summary, detail) = crate::config::describe(c);
            match p {
                Some(p) => diags.error_at(p, summary, detail),
                None => diags.error(summary, detail),
            }
            return;
        }
        Error::Invalid(m) => (format!("{context} failed"), m.clone()),
        Error::Refused { kind, found, set_identifiers } => {
            (kind.summary().to_string(), refusal_detail(*kind, found, set_identifiers.as_ref()))
        }
        Error::WayBackFailed { failure, back_to, source } => (
            "Health gate failed, and the way back could not be written".to_string(),
            format!(
                "{}: {}; returning to {back_to} then failed: {}.\n\nApply traffic = {} as soon as AWS accepts changes again: a \
                 decrease is never gated.",
                crate::wording::gate_name(failure.gate),
                crate::wording::observation(failure),
                source.to_string().trim_end_matches('.'),
                back_to.green()
            ),
        ),
        Error::NotInSync { change_id, waited, written } => (
            "Route 53 change still propagating".to_string(),
            format!(
                "Route 53 change {change_id} was not INSYNC after {} (sync_timeout). Route 53 holds the new records{}: it \
                 accepted the change, which will still propagate to its DNS servers on its own; the state records it. Nothing \
                 needs undoing: run terraform again to carry on, and raise sync_timeout (or set wait_for_sync = false) if Route \
                 53 is often this slow.",
                bluegreen_core::duration::format(*waited),
                written.as_ref().map(|w| format!(" ({w})")).unwrap_or_default()
            ),
        ),
        Error::Cancelled(m) => (format!("{context}: stopped"), format!("Terraform asked the provider to stop ({m}).")),
    };
    match path {
        Some(p) => diags.error_at(p, summary, detail),
        None => diags.error(summary, detail),
    }
}

/// What core found, with what to change in the configuration instead.
fn refusal_detail(kind: Refusal, found: &str, set_identifiers: Option<&(String, String)>) -> String {
    let advice = match kind {
        Refusal::WeightedRecordExists => {
            let (blue, green) = set_identifiers.map_or(("<blue>", "<green>"), |(b, g)| (b.as_str(), g.as_str()));
            format!(
                "It is not taken over silently: import it (terraform import with the id <zone_id>/<name>/<type>/{blue}/{green}), or \
                 choose other set identifiers."
            )
        }
        Refusal::RecordExists => "Set adopt_existing = true to replace it with the weighted pair in one atomic change (it must point \
                                  where `blue` points). A simple record is not a switch: there is nothing to import."
            .into(),
        Refusal::RecordPointsElsewhere => {
            return format!(
                "adopt_existing: {found} Make `blue` describe what the record serves today, so adopting it does not move any traffic."
            )
        }
        Refusal::ForeignRecordSets => "The switch only manages its own pair and will not join or replace them; remove them first or \
                                       use another name."
            .into(),
        Refusal::SplitCollapse => "Set traffic to 100 (all green) or 0 (all blue) and apply, then destroy; or set on_destroy = \
                                   \"delete\" to remove both records (the name will stop answering)."
            .into(),
        Refusal::CollapseBesideOthers => "Remove them, or set on_destroy = \"delete\".".into(),
        Refusal::PriorityInUse | Refusal::TestPriorityInUse => {
            "Choose another priority, or if that rule is this canary, import it (terraform import with the rule ARN).".into()
        }
        Refusal::GreenHasTraffic => "Either set traffic = 0 and apply (back to blue), then destroy; or finish the cutover with \
                                     traffic = 100 and on_destroy = \"promote\", which points the listener's default action at \
                                     green before removing the rules."
            .into(),
        Refusal::SplitPromote => "Set traffic to 100 (or 0) and apply, then destroy.".into(),
    };
    format!("{found} {advice}")
}

/// Where the AWS SDK looks for credentials, in its order.
const CREDENTIAL_SOURCES: &str = "the provider block (access_key and secret_key, profile, assume_role); the environment \
     (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the shared files ~/.aws/credentials and \
     ~/.aws/config (profile AWS_PROFILE, else \"default\"), including SSO and credential_process; web identity \
     (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN); the ECS container endpoint; and EC2 instance metadata (IMDS)";

/// Title and advice for a failed AWS call, one per kind of failure.
fn aws_sentences(aws: &bluegreen_core::AwsError, context: &str) -> (String, String) {
    let e = sentence(&aws.to_string());
    let op = aws.operation;
    match aws.kind {
        AwsErrorKind::Credentials if aws.code.is_none() => (
            "No AWS credentials found".to_string(),
            format!(
                "{context}: the provider found no AWS credentials. It looked in {CREDENTIAL_SOURCES}.\n\nProvide credentials in one \
                 of these places, for example `export AWS_PROFILE=<profile>` after `aws configure` or `aws sso login`, or \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment. ({e})"
            ),
        ),
        AwsErrorKind::Credentials => (
            "AWS does not accept the credentials".to_string(),
            format!(
                "{context}: {e}\n\nThe access key is unknown, its secret does not match, or the session token has expired. \
                 Refresh the credentials (e.g. `aws sso login`), or check access_key/secret_key, profile and the AWS_* \
                 environment variables."
            ),
        ),
        AwsErrorKind::Auth => {
            let action = bluegreen_core::aws::iam::action(op).unwrap_or_else(|| op.to_string());
            let names = if op == "ChangeResourceRecordSets" {
                " (and the record name to its route53:ChangeResourceRecordSetsNormalizedRecordNames condition)"
            } else {
                ""
            };
            (
                format!("{context}: permission denied for {action}"),
                format!(
                    "{e}\n\nThe credentials work, but their IAM policy does not allow {action} on this resource. Add the \
                     action{names} to the policy of the user or role the provider runs as (see the IAM policy guide: docs/guides/iam-policy.md)."
                ),
            )
        }
        AwsErrorKind::Throttling | AwsErrorKind::PriorRequestNotComplete => (
            format!("{context}: AWS kept throttling {op}"),
            format!(
                "{e}\n\nThe provider paced its calls and retried with backoff for its whole retry budget; other tools in this \
                 account are probably using the same API limit. Run again later, raise retry_timeout, or lower terraform's \
                 -parallelism. Nothing was changed by the throttled call."
            ),
        ),
        AwsErrorKind::Stopped => (format!("{context}: stopped"), format!("Terraform asked the provider to stop: {e}")),
        AwsErrorKind::Unreachable if aws.message.starts_with("TLS handshake with ") => (
            format!("{context}: TLS handshake failed"),
            format!(
                "{e}\n\nNo request was sent. If the endpoint serves plain HTTP (LocalStack, a local proxy), give it as an http:// \
                 URL in the endpoints block or the AWS_ENDPOINT_URL* variable; otherwise check that its certificate is trusted here \
                 and names its host."
            ),
        ),
        AwsErrorKind::Unreachable => (
            format!("{context}: cannot reach AWS"),
            format!(
                "{e}\n\nNo connection could be made, so nothing was sent. Check network access to that endpoint (proxy, VPC \
                 endpoint, firewall) and any endpoints override or AWS_ENDPOINT_URL* variable, then run again."
            ),
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
            format!(
                "{e}\n\nThe connection was lost or timed out after the request was sent; the provider already retried. Check \
                 network access to the AWS endpoint (and any endpoints override), then run again."
            ),
        ),
        _ => (format!("{context}: {op} failed"), e),
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

    #[test]
    fn a_failed_way_back_and_a_slow_change_are_worded_by_the_provider() {
        use bluegreen_core::gate::{GateFailure, GateKind};
        use bluegreen_core::traffic::TrafficSplit;
        let mut failure = GateFailure::new(GateKind::MinHealthyTargets, "target group ecs has no registered targets");
        failure.at_step = Some(50);
        let source = Error::Aws(AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Throttling, "Rate exceeded."));
        let e = Error::WayBackFailed { failure, back_to: TrafficSplit::green_percent(10).unwrap(), source: Box::new(source) };
        assert!(std::error::Error::source(&e).is_some(), "the write error is kept as the source");
        let mut d = Diagnostics::new();
        report(&mut d, &e, None, "Shifting traffic");
        assert_eq!(d.0[0].summary, "Health gate failed, and the way back could not be written");
        assert_eq!(
            d.0[0].detail,
            format!(
                "health_gate.min_healthy_targets: target group ecs has no registered targets (at step 50 %); returning to {} \
                 then failed: ChangeResourceRecordSets failed: Rate exceeded.\n\nApply traffic = 10 as soon as AWS accepts changes \
                 again: a decrease is never gated.",
                TrafficSplit::green_percent(10).unwrap()
            )
        );

        let e = Error::NotInSync { change_id: "C1".into(), waited: std::time::Duration::from_secs(90), written: Some("UPSERT a".into()) };
        let mut d = Diagnostics::new();
        report(&mut d, &e, None, "Waiting for Route 53");
        assert_eq!(d.0[0].summary, "Route 53 change still propagating");
        assert!(
            d.0[0]
                .detail
                .starts_with("Route 53 change C1 was not INSYNC after 1m30s (sync_timeout). Route 53 holds the new records (UPSERT a): it"),
            "{}",
            d.0[0].detail
        );
    }

    #[test]
    fn a_refusal_is_what_core_found_and_what_to_change_here() {
        let detail = |kind, found: &str, ids: Option<(&str, &str)>| {
            let e = Error::Refused { kind, found: found.into(), set_identifiers: ids.map(|(b, g)| (b.into(), g.into())) };
            let mut d = Diagnostics::new();
            report(&mut d, &e, None, "Creating the switch");
            assert_eq!(d.0[0].summary, kind.summary());
            d.0[0].detail.clone()
        };
        assert_eq!(
            detail(Refusal::WeightedRecordExists, "api.example.com A already has a weighted record set.", Some(("b", "g"))),
            "api.example.com A already has a weighted record set. It is not taken over silently: import it (terraform import \
             with the id <zone_id>/<name>/<type>/b/g), or choose other set identifiers."
        );
        assert_eq!(
            detail(Refusal::RecordExists, "api.example.com A already exists as a simple record (alias x).", None),
            "api.example.com A already exists as a simple record (alias x). Set adopt_existing = true to replace it with the \
             weighted pair in one atomic change (it must point where `blue` points). A simple record is not a switch: there is \
             nothing to import."
        );
        assert_eq!(
            detail(Refusal::RecordPointsElsewhere, "a points to x, but blue points to y. Nothing was changed.", None),
            "adopt_existing: a points to x, but blue points to y. Nothing was changed. Make `blue` describe what the record \
             serves today, so adopting it does not move any traffic."
        );
        assert!(detail(Refusal::SplitCollapse, "f.", None)
            .ends_with("or set on_destroy = \"delete\" to remove both records (the name will stop answering)."));
        assert!(detail(Refusal::TestPriorityInUse, "f.", None).contains("import it (terraform import with the rule ARN)"));
        assert!(detail(Refusal::GreenHasTraffic, "f.", None).contains("on_destroy = \"promote\""));
    }

    #[test]
    fn not_found_kinds_keep_their_words() {
        let mut d = Diagnostics::new();
        report(&mut d, &Error::NotFound { what: NotFoundKind::HostedZone, searched: "zone_id = \"Z1\"".into() }, None, "Reading");
        report(&mut d, &Error::NotFound { what: NotFoundKind::TargetGroup, searched: "arn = \"x\"".into() }, None, "Reading");
        assert_eq!(d.0[0].summary, "Hosted zone not found");
        assert_eq!(
            d.0[0].detail,
            "No hosted zone matched: zone_id = \"Z1\". Check the value and that the provider's credentials point at the right account."
        );
        assert_eq!(d.0[1].summary, "Target group not found");
        assert!(d.0[1].detail.contains("provider's region and credentials"), "{}", d.0[1].detail);
    }

    #[test]
    fn each_kind_of_failure_has_its_own_title() {
        let titles: Vec<String> = [
            AwsError::new("GetCallerIdentity", AwsErrorKind::Credentials, "no providers in chain provided credentials"),
            AwsError::new("GetCallerIdentity", AwsErrorKind::Credentials, "The security token included in the request is invalid")
                .with_code("InvalidClientTokenId"),
            AwsError::new(
                "ModifyRule",
                AwsErrorKind::Auth,
                "User: arn:aws:iam::1:user/x is not authorized to perform: elasticloadbalancing:ModifyRule on resource: arn:rule",
            )
            .with_code("AccessDenied"),
            AwsError::new("ChangeResourceRecordSets", AwsErrorKind::Throttling, "Rate exceeded").with_code("Throttling"),
            AwsError::new(
                "ListResourceRecordSets",
                AwsErrorKind::Unreachable,
                "could not reach Route 53 at http://127.0.0.1:1: connection refused",
            ),
            AwsError::new("ListResourceRecordSets", AwsErrorKind::Ambiguous, "timed out"),
        ]
        .into_iter()
        .map(|e| summary_and_detail(e).0)
        .collect();
        assert_eq!(
            titles,
            [
                "No AWS credentials found",
                "AWS does not accept the credentials",
                "Shifting traffic: permission denied for elasticloadbalancing:ModifyRule",
                "Shifting traffic: AWS kept throttling ChangeResourceRecordSets",
                "Shifting traffic: cannot reach AWS",
                "Shifting traffic: no answer from AWS",
            ]
        );
        let (_, detail) =
            summary_and_detail(AwsError::new("GetCallerIdentity", AwsErrorKind::Credentials, "no providers in chain provided credentials"));
        assert!(detail.contains("AWS_ACCESS_KEY_ID") && detail.contains("IMDS") && detail.contains("AWS_PROFILE"), "{detail}");
    }
}
