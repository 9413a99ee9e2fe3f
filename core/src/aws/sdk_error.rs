//! Turns SDK errors into [`AwsError`]s the engine can reason about.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{AwsError, AwsErrorKind};

/// Codes that mean "the thing is not there", across Route 53 and ELBv2.
const NOT_FOUND: &[&str] =
    &["NoSuchHostedZone", "NoSuchChange", "LoadBalancerNotFound", "ListenerNotFound", "TargetGroupNotFound", "RuleNotFound", "NotFound"];

pub(crate) fn classify<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, code, message) = match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().map(str::to_string);
            let kind = match kind_for_code(code.as_deref()) {
                // A 5xx without a code we know (a bare 500/503 once the SDK's
                // retries are spent): the request may have taken effect.
                AwsErrorKind::Other if ctx.raw().status().is_server_error() => AwsErrorKind::Ambiguous,
                kind => kind,
            };
            let message = e.message().map(str::to_string).unwrap_or_else(|| DisplayErrorContext(&err).to_string());
            (kind, code, message)
        }
        // The request may have reached AWS; the effect is unknown.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            (AwsErrorKind::Ambiguous, None, DisplayErrorContext(&err).to_string())
        }
        _ => (AwsErrorKind::Other, err.code().map(str::to_string), DisplayErrorContext(&err).to_string()),
    };
    AwsError { operation, kind, code, message }
}

pub(crate) fn kind_for_code(code: Option<&str>) -> AwsErrorKind {
    match code {
        Some(c) if NOT_FOUND.contains(&c) => AwsErrorKind::NotFound,
        Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException") => AwsErrorKind::Throttling,
        Some("PriorRequestNotComplete") => AwsErrorKind::PriorRequestNotComplete,
        Some(
            "InvalidChangeBatch"
            | "InvalidInput"
            | "ValidationError"
            | "InvalidConfigurationRequest"
            | "PriorityInUse"
            | "TooManyRules"
            | "TooManyTargetGroups"
            | "InvalidLoadBalancerAction",
        ) => AwsErrorKind::Invalid,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidSignatureException",
        ) => AwsErrorKind::Auth,
        Some("InternalFailure" | "InternalError" | "ServiceUnavailable" | "ServiceUnavailableException") => AwsErrorKind::Ambiguous,
        _ => AwsErrorKind::Other,
    }
}

/// A required field missing from an AWS response.
pub(crate) fn missing(operation: &'static str, field: &str) -> AwsError {
    AwsError::new(operation, AwsErrorKind::Other, format!("the response has no {field}"))
}

/// A request we built was rejected by the SDK's own builder (a bug on our side).
pub(crate) fn build(operation: &'static str, err: impl std::fmt::Display) -> AwsError {
    AwsError::new(operation, AwsErrorKind::Invalid, format!("could not build the request: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError as E;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(status: u16, code: Option<&str>) -> AwsError {
        let mut meta = ErrorMetadata::builder().message("m");
        if let Some(c) = code {
            meta = meta.code(c);
        }
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        classify("ChangeResourceRecordSets", SdkError::service_error(E::generic(meta.build()), raw))
    }

    #[test]
    fn a_server_error_without_a_known_code_is_ambiguous() {
        assert_eq!(service_error(500, None).kind, AwsErrorKind::Ambiguous);
        assert_eq!(service_error(503, Some("SlowDown")).kind, AwsErrorKind::Ambiguous);
        assert_eq!(service_error(500, Some("InternalFailure")).kind, AwsErrorKind::Ambiguous);
        // A code we know decides, whatever the status; a 4xx we don't know is not ambiguous.
        assert_eq!(service_error(503, Some("Throttling")).kind, AwsErrorKind::Throttling);
        assert_eq!(service_error(400, Some("InvalidChangeBatch")).kind, AwsErrorKind::Invalid);
        assert_eq!(service_error(400, None).kind, AwsErrorKind::Other);
    }
}
