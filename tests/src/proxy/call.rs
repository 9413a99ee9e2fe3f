//! [`Call`]: one request the proxy received, as the tests see it.

use std::fmt;
use std::time::Duration;

use super::*;

/// One request the proxy received, and what became of it.
///
/// Rule predicates ([`Rule::when`]) see a `Call` before it is answered: the
/// request fields are set, the outcome fields (`status`, `error_code`,
/// `fault`, `forwarded`, `upstream_status`, `duration`) are still empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Arrival order, from 0 (not reset by [`Proxy::reset`]).
    pub seq: u64,
    /// When the request arrived, since the proxy started.
    pub at: Duration,
    /// The SigV4 signing name: [`ROUTE53`], [`ELBV2`], [`EC2`], [`STS`], …
    pub service: String,
    /// The AWS operation, e.g. `ListResourceRecordSets`, `DescribeRules`; [`UNKNOWN`] if unrecognised.
    pub operation: String,
    /// The HTTP method.
    pub method: String,
    /// Path and query as sent (signatures and tokens in the query replaced by `REDACTED`).
    pub path: String,
    /// Request headers in order, lower-case names, without credentials.
    pub headers: Vec<(String, String)>,
    /// The request body (UTF-8, lossy; tokens in a Query body replaced by `REDACTED`).
    pub body: String,
    /// The SDK's attempt number (`amz-sdk-request: attempt=2; max=3`): 1 for a first try.
    pub attempt: Option<u32>,
    /// The SDK's `amz-sdk-invocation-id`: the same for every retry of one SDK call.
    pub invocation_id: Option<String>,
    /// `ChangeResourceRecordSets`: how many `<Change>`s the batch holds.
    pub changes: Option<usize>,
    /// The fault injected into this call, if any.
    pub fault: Option<Fault>,
    /// Whether the request reached LocalStack.
    pub forwarded: bool,
    /// LocalStack's status, when forwarded (it differs from `status` for [`Fault::forward_then`]).
    pub upstream_status: Option<u16>,
    /// The status the client got; `None` when the connection was reset.
    pub status: Option<u16>,
    /// The AWS error code the client got (injected, or LocalStack's own).
    pub error_code: Option<String>,
    /// From the request's arrival to its answer (or reset).
    pub duration: Duration,
}

impl Call {
    /// Whether a fault was injected into this call.
    pub fn injected(&self) -> bool {
        self.fault.is_some()
    }

    /// Whether the client got a 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `service:Operation`, e.g. `route53:GetChange`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }

    /// A Query-protocol parameter (`Action`, `ListenerArn`, `Names.member.1` …),
    /// URL-decoded, from the body or the query string.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.path.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_params(&self.body).chain(form_params(query)).find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether the body contains `needle`, as sent or (for a Query body) URL-decoded.
    pub fn body_contains(&self, needle: &str) -> bool {
        self.body.contains(needle) || (self.body.contains('%') && percent_decode(&self.body).contains(needle))
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} {} {}", self.seq, self.key(), self.method, self.path)?;
        match self.status {
            Some(s) => write!(f, " → {s}")?,
            None => write!(f, " → reset")?,
        }
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        if let Some(fault) = &self.fault {
            write!(f, " (injected {fault:?})")?;
        }
        write!(f, " in {:.1?}", self.duration)
    }
}

// ---------------------------------------------------------------------------
// Faults and rules
// ---------------------------------------------------------------------------
