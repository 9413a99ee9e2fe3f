//! Turns SDK errors into [`AwsError`]s the engine can reason about.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

use crate::error::{AwsError, AwsErrorKind};

/// Codes that mean "the thing is not there", across Route 53 and ELBv2.
const NOT_FOUND: &[&str] = &[
    "NoSuchHostedZone",
    "NoSuchChange",
    "NoSuchHealthCheck",
    "LoadBalancerNotFound",
    "ListenerNotFound",
    "TargetGroupNotFound",
    "RuleNotFound",
    "NotFound",
];

pub(crate) fn classify<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = match &err {
        SdkError::ServiceError(ctx) => ctx.err().meta().request_id().or_else(|| ctx.raw().headers().request_id()),
        other => other.request_id(),
    }
    .map(str::to_string);
    let (kind, code, message) = match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().map(str::to_string);
            let kind = match kind_for_code(code.as_deref()) {
                // A 5xx without a code we know (a bare 500/503): the request
                // may have taken effect.
                AwsErrorKind::Other if ctx.raw().status().is_server_error() => AwsErrorKind::Ambiguous,
                kind => kind,
            };
            let message = e.message().map(str::to_string).unwrap_or_else(|| {
                let status = ctx.raw().status().as_u16();
                format!("HTTP {status} without an AWS error message ({})", chain(&err))
            });
            (kind, code, message)
        }
        SdkError::DispatchFailure(_) => match tls_failure(&err) {
            // Nothing was sent: the connection never became usable. The pacer names the URL.
            Some(reason) => (AwsErrorKind::Unreachable, None, format!("{TLS_FAILED}{reason} (is the endpoint plain HTTP?)")),
            None => (dispatch_kind(&err), None, chain(&err)),
        },
        // The request may have reached AWS; the effect is unknown.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => (AwsErrorKind::Ambiguous, None, chain(&err)),
        _ => (AwsErrorKind::Other, err.code().map(str::to_string), chain(&err)),
    };
    AwsError { operation, kind, code, message, request_id, source: Some(std::sync::Arc::new(err)), after_lost_answer: false }
}

/// How a failed TLS handshake's message starts; the pacer turns it into
/// "TLS handshake with <url> failed: …", naming the endpoint.
pub(crate) const TLS_FAILED: &str = "TLS handshake failed: ";

/// Why the TLS handshake failed, if that is what stopped the request: the
/// text of what the SDK's "TLS handshake failed" (or rustls) says.
fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return Some(chain(e));
        }
        if e.to_string() == "TLS handshake failed" {
            return Some(e.source().map_or_else(|| "no reason given".to_string(), chain));
        }
        next = e.source();
    }
    None
}

/// An error and its sources as one line of `Display`s, never `Debug`: the
/// SDK's `DisplayErrorContext` ends with a debug dump of the whole error,
/// which is not for users (nor are the request dumps some SDK errors quote).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = without_request_dump(&e.to_string());
        // Wrappers often repeat their source's text; keep the more specific one.
        match parts.last_mut() {
            Some(last) if text.contains(last.as_str()) => *last = text,
            Some(last) if last.contains(&text) => {}
            _ => parts.push(text),
        }
        next = e.source();
    }
    parts.retain(|p| !p.is_empty());
    parts.join(": ")
}

/// `text` with any quoted `Request { … }` dump (the SDK's "failed to apply
/// endpoint … to request `Request { body: SdkBody … }`") replaced by "the request".
fn without_request_dump(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("`Request {") {
        let Some(len) = rest[start + 1..].find('`') else { break };
        out.push_str(rest[..start].strip_suffix("request ").unwrap_or(&rest[..start]));
        out.push_str("the request");
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Why a request could not be sent: no credentials, no connection (nothing
/// was sent), or a connection lost on the way (the effect is unknown).
fn dispatch_kind(err: &(dyn std::error::Error + 'static)) -> AwsErrorKind {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>().is_some() {
            return AwsErrorKind::Credentials;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::NotFound
            ) {
                return AwsErrorKind::Unreachable;
            }
        }
        let text = e.to_string();
        // An endpoint the SDK cannot put into a request ("endpoint must contain scheme"): nothing was sent.
        if text.starts_with("tcp connect error")
            || text.starts_with("dns error")
            || text.contains("failed to lookup address")
            || text.starts_with("failed to apply endpoint")
        {
            return AwsErrorKind::Unreachable;
        }
        next = e.source();
    }
    AwsErrorKind::Ambiguous
}

pub(crate) fn kind_for_code(code: Option<&str>) -> AwsErrorKind {
    match code {
        Some(c) if NOT_FOUND.contains(&c) => AwsErrorKind::NotFound,
        Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException" | "RequestThrottled") => {
            AwsErrorKind::Throttling
        }
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
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => AwsErrorKind::Auth,
        Some(
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidSignatureException"
            | "InvalidAccessKeyId"
            | "IncompleteSignature"
            | "MissingAuthenticationToken",
        ) => AwsErrorKind::Credentials,
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

    #[test]
    fn the_sdk_error_is_kept_as_the_source_with_the_request_id() {
        use std::error::Error as _;
        let mut raw = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        raw.headers_mut().insert("x-amzn-requestid", "req-123");
        let meta = ErrorMetadata::builder().message("m").code("InvalidChangeBatch").build();
        let e = classify("ChangeResourceRecordSets", SdkError::service_error(E::generic(meta), raw));
        assert_eq!(e.request_id.as_deref(), Some("req-123"));
        let source = e.source().expect("the SDK error is the source");
        assert_eq!(source.to_string(), "service error", "the SdkError itself");
        assert!(source.source().is_some_and(|inner| inner.to_string().contains("InvalidChangeBatch")), "the chain goes on to AWS's error");
        assert_eq!(service_error(500, None).request_id, None, "no id in the answer, none made up");
    }

    fn dispatch(source: Box<dyn std::error::Error + Send + Sync>, io: bool) -> AwsError {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let connector = if io { ConnectorError::io(source) } else { ConnectorError::other(source, None) };
        classify("ListResourceRecordSets", SdkError::<E, HttpResponse>::dispatch_failure(connector))
    }

    /// No `Debug` of the SDK's error types may reach a message.
    fn assert_no_dump(e: &AwsError) {
        for dump in ["DispatchFailure(", "ConnectorError", "{ source:", "Some(", "kind:", "Request {", "SdkBody"] {
            assert!(!e.message.contains(dump), "{dump:?} in {:?}", e.message);
        }
    }

    #[test]
    fn missing_credentials_are_their_own_kind_without_a_debug_dump() {
        let e = dispatch(
            Box::new(aws_credential_types::provider::error::CredentialsError::not_loaded("no providers in chain provided credentials")),
            false,
        );
        assert_eq!(e.kind, AwsErrorKind::Credentials);
        assert!(e.message.contains("no providers in chain provided credentials"), "{}", e.message);
        assert_no_dump(&e);
    }

    #[test]
    fn a_refused_connection_is_unreachable_and_a_reset_is_ambiguous() {
        let refused = dispatch(Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)), true);
        assert_eq!(refused.kind, AwsErrorKind::Unreachable);
        assert_no_dump(&refused);
        let reset = dispatch(Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset)), true);
        assert_eq!(reset.kind, AwsErrorKind::Ambiguous);
        assert_no_dump(&reset);
    }

    #[test]
    fn access_denied_is_a_permission_error_and_a_bad_key_a_credentials_one() {
        assert_eq!(service_error(403, Some("AccessDenied")).kind, AwsErrorKind::Auth);
        assert_eq!(service_error(403, Some("InvalidClientTokenId")).kind, AwsErrorKind::Credentials);
        assert_eq!(service_error(403, Some("SignatureDoesNotMatch")).kind, AwsErrorKind::Credentials);
        assert_eq!(service_error(400, Some("ThrottlingException")).kind, AwsErrorKind::Throttling);
        assert_eq!(service_error(400, Some("RequestLimitExceeded")).kind, AwsErrorKind::Throttling);
    }

    /// A route53 call through a real SDK client (as `connect` builds them) to `url`.
    async fn list_zones(url: &str) -> AwsError {
        let conf = aws_sdk_route53::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new("AKID", "SECRET", None, None, "test"))
            .endpoint_url(url)
            .build();
        let client = aws_sdk_route53::Client::from_conf(conf);
        classify("ListHostedZones", client.list_hosted_zones().send().await.expect_err("no AWS here"))
    }

    /// A plain-HTTP server on a loopback port, answering anything with a 400.
    async fn plain_http() -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        port
    }

    #[tokio::test]
    async fn https_to_a_plain_http_endpoint_is_a_failed_tls_handshake_not_a_lost_answer() {
        let port = plain_http().await;
        let e = list_zones(&format!("https://127.0.0.1:{port}")).await;
        assert_eq!(e.kind, AwsErrorKind::Unreachable, "nothing was sent: {e}");
        assert_eq!(e.message, "TLS handshake failed: received corrupt message of type InvalidContentType (is the endpoint plain HTTP?)");
        assert_no_dump(&e);
    }

    #[tokio::test]
    async fn an_endpoint_without_a_scheme_is_not_dumped() {
        let port = plain_http().await;
        let e = list_zones(&format!("127.0.0.1:{port}")).await;
        assert_eq!(e.kind, AwsErrorKind::Unreachable, "nothing was sent: {e}");
        let want = format!("failed to apply endpoint `127.0.0.1:{port}` to the request: endpoint must contain scheme");
        assert!(e.message.ends_with(&want), "{}", e.message);
        assert_no_dump(&e);
    }

    #[test]
    fn request_dumps_are_cut_out() {
        assert_eq!(without_request_dump("a to request `Request { body: SdkBody { x } }`: b"), "a to the request: b");
        assert_eq!(without_request_dump("no dump"), "no dump");
        assert_eq!(without_request_dump("unclosed `Request { x"), "unclosed `Request { x");
    }

    /// What the user reads: the pacer (which knows the URL) names the endpoint of the failed handshake.
    #[tokio::test]
    async fn a_failed_handshake_names_the_endpoint() {
        use crate::aws::retry::{Limiter, Pacer, RetryPolicy};
        let url = format!("https://127.0.0.1:{}", plain_http().await);
        let policy = RetryPolicy::default().with_max_retries(Some(0));
        let pacer = Pacer::new("Route 53", url.clone(), Limiter::new(10.0, 10), policy, tokio_util::sync::CancellationToken::new());
        let e = pacer.call("ListHostedZones", || async { Err::<(), _>(list_zones(&url).await) }).await.unwrap_err();
        assert_eq!(
            e.message,
            format!("TLS handshake with {url} failed: received corrupt message of type InvalidContentType (is the endpoint plain HTTP?)")
        );
    }
}
