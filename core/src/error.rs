//! Errors the engine reports. Each carries enough context (the AWS operation,
//! the resource it was about) for the provider to write a sentence that tells
//! the user what happened and what to do.

use std::fmt;
use std::sync::Arc;

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How an AWS failure should be treated by callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The thing asked for does not exist.
    NotFound,
    /// Rate limiting (already retried for the retry budget).
    Throttling,
    /// Route 53 is still applying an earlier change on this zone.
    PriorRequestNotComplete,
    /// AWS rejected the request as invalid (e.g. `InvalidChangeBatch`).
    Invalid,
    /// The credentials are not allowed to do this (`AccessDenied`).
    Auth,
    /// No credentials could be found, or AWS does not accept them (unknown
    /// key, bad signature, expired token).
    Credentials,
    /// The endpoint could not be reached (no connection was made, so nothing
    /// was sent).
    Unreachable,
    /// Terraform asked the provider to stop while the call waited to be
    /// retried; the failed attempt had no effect.
    Stopped,
    /// No response, a timeout or a 5xx: the request may or may not have taken
    /// effect, so a write must be read back before it is retried.
    Ambiguous,
    /// Anything else.
    Other,
}

/// A failed AWS call, with the operation that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub struct AwsError {
    /// The API operation, e.g. `ChangeResourceRecordSets`.
    pub operation: &'static str,
    /// What kind of failure it was (throttling, access denied, …).
    pub kind: AwsErrorKind,
    /// The AWS error code, when AWS answered with one.
    pub code: Option<String>,
    /// AWS's message, or what went wrong on the way to AWS.
    pub message: String,
    /// The id AWS gave the failed request, when it answered (for AWS support).
    pub request_id: Option<String>,
    /// The SDK's own error, when the failure came from the SDK.
    #[source]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {}: {}", self.operation, code, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl AwsError {
    /// A failure of `operation` with no AWS error code.
    pub fn new(operation: &'static str, kind: AwsErrorKind, message: impl Into<String>) -> Self {
        Self { operation, kind, code: None, message: message.into(), request_id: None, source: None }
    }

    /// Adds the AWS error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A weighted record set with one of the switch's set identifiers exists already.
    WeightedRecordExists,
    /// A simple record exists at the name, and adopting it was not asked for.
    RecordExists,
    /// The simple record to adopt points elsewhere than blue.
    RecordPointsElsewhere,
    /// Record sets the switch does not own are at the name.
    ForeignRecordSets,
    /// A collapse while traffic is split would move answers at once.
    SplitCollapse,
    /// A collapse beside other record sets cannot add its simple record.
    CollapseBesideOthers,
    /// The weighted rule's priority is held by a rule the canary does not own.
    PriorityInUse,
    /// The test route's priority is held by a rule the canary does not own.
    TestPriorityInUse,
    /// Deleting the canary's rules while green has traffic would move it at once.
    GreenHasTraffic,
    /// Promoting while traffic is split would move it at once.
    SplitPromote,
}

impl Refusal {
    /// A title for the refusal.
    pub fn summary(self) -> &'static str {
        match self {
            Refusal::WeightedRecordExists => "Weighted record set already exists",
            Refusal::RecordExists => "Record already exists",
            Refusal::RecordPointsElsewhere => "Existing record points elsewhere",
            Refusal::ForeignRecordSets => "Record sets not owned by this switch",
            Refusal::SplitCollapse => "Destroy refused while traffic is split",
            Refusal::CollapseBesideOthers => "Cannot collapse beside other record sets",
            Refusal::PriorityInUse => "Listener rule priority in use",
            Refusal::TestPriorityInUse => "Test route priority in use",
            Refusal::GreenHasTraffic => "Destroy refused while green has traffic",
            Refusal::SplitPromote => "Promote refused while traffic is split",
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// Everything the engine can fail with.
pub enum Error {
    #[error(transparent)]
    /// An AWS call failed.
    Aws(#[from] AwsError),

    /// A lookup found nothing; `searched` says what was looked for.
    #[error("{what} not found: {searched}")]
    NotFound {
        /// The kind of thing looked for.
        what: &'static str,
        /// The name, id or filter searched with.
        searched: String,
    },

    /// A lookup found more than one candidate.
    #[error("{what} is ambiguous: {searched} matched {candidates}")]
    Ambiguous {
        /// The kind of thing looked for.
        what: &'static str,
        /// The name, id or filter searched with.
        searched: String,
        /// The matches, comma-separated.
        candidates: String,
    },

    /// Input that passed validation but is still unusable (e.g. a value AWS
    /// returned that we cannot interpret).
    #[error("{0}")]
    Invalid(String),

    /// A change refused to protect traffic or records the configuration does
    /// not own; `kind` says which refusal, `detail` what was found and what
    /// to do instead.
    #[error("{}: {detail}", kind.summary())]
    Refused {
        /// Which refusal.
        kind: Refusal,
        /// What was found and what to do instead.
        detail: String,
    },

    /// A change that failed half way (a gate's rollback that could not be
    /// written): `summary` is a title, `detail` says where traffic is left
    /// and what the operator should do.
    #[error("{summary}: {detail}")]
    Unfinished {
        /// A one-line title.
        summary: &'static str,
        /// Where traffic is left and what the operator should do.
        detail: String,
    },

    /// Provider configuration problems, naming the attribute at fault.
    #[error("{attribute}: {message}")]
    Config {
        /// The setting at fault, e.g. `endpoints.route53`.
        attribute: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The operation was stopped (Terraform sent StopProvider).
    #[error("stopped before completion: {0}")]
    Cancelled(String),
}
