//! Errors the engine reports. Each carries enough context (the AWS operation,
//! the resource it was about) for the provider to write a sentence that tells
//! the user what happened and what to do.

use std::fmt;
use std::sync::Arc;

use crate::http_url::UrlFault;

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
    /// An earlier attempt of this same call went out and its answer was lost
    /// (no answer, a 5xx), and this error is what a retry met. Only then can
    /// an error that says "already there" be that attempt's own effect; on a
    /// first attempt it is a definite refusal.
    pub after_lost_answer: bool,
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
        Self { operation, kind, code: None, message: message.into(), request_id: None, source: None, after_lost_answer: false }
    }

    /// Adds the AWS error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Marks the error as met by a retry after an attempt whose answer was lost.
    pub fn after_lost_answer(mut self) -> Self {
        self.after_lost_answer = true;
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

/// What a lookup looks for, in [`Error::NotFound`] and [`Error::Ambiguous`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFoundKind {
    /// A Route 53 hosted zone.
    HostedZone,
    /// A record set in a hosted zone.
    Record,
    /// The two weighted record sets of a switch.
    WeightedRecordPair,
    /// An Application Load Balancer.
    LoadBalancer,
    /// A load balancer's listener.
    Listener,
    /// A listener rule.
    ListenerRule,
    /// A target group.
    TargetGroup,
}

impl fmt::Display for NotFoundKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotFoundKind::HostedZone => "hosted zone",
            NotFoundKind::Record => "record",
            NotFoundKind::WeightedRecordPair => "weighted record pair",
            NotFoundKind::LoadBalancer => "load balancer",
            NotFoundKind::Listener => "listener",
            NotFoundKind::ListenerRule => "listener rule",
            NotFoundKind::TargetGroup => "target group",
        })
    }
}

/// An AWS service whose endpoint can be overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Route 53.
    Route53,
    /// Elastic Load Balancing v2.
    Elbv2,
    /// STS.
    Sts,
    /// CloudWatch.
    CloudWatch,
}

/// A connection setting of [`AwsSettings`](crate::aws::AwsSettings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// A service's endpoint override.
    Endpoint(Service),
    /// An `AWS_ENDPOINT_URL*` environment variable the SDK would use (named here).
    EndpointEnv(&'static str),
    /// The static access key id.
    AccessKey,
    /// The static secret access key.
    SecretKey,
    /// The named profile of the shared AWS files.
    Profile,
    /// The accounts the clients may work in.
    AllowedAccountIds,
    /// The accounts the clients must not work in.
    ForbiddenAccountIds,
    /// Skipping the `sts:GetCallerIdentity` check.
    SkipCredentialsValidation,
}

/// What is wrong with a [`Setting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// An endpoint URL that cannot be used.
    EndpointUrl {
        /// The URL as given, any userinfo redacted ([`crate::http_url::redact`]).
        url: String,
        /// The `AWS_ENDPOINT_URL*` variable it came from, when not from the configuration.
        variable: Option<&'static str>,
        /// What is wrong with it.
        fault: UrlFault,
    },
    /// One half of the static key pair without the other: the setting is the missing half.
    KeyPairHalf,
    /// Account lists with the account check skipped: nothing would tell the account.
    AccountListsWithoutValidation,
    /// The credentials' account is not among the allowed ones.
    AccountNotAllowed {
        /// The credentials' account.
        account: String,
        /// The allowed accounts.
        allowed: Vec<String>,
    },
    /// The credentials' account is a forbidden one.
    AccountForbidden {
        /// The credentials' account.
        account: String,
    },
    /// The shared AWS config files could not be read.
    ProfileUnreadable(String),
    /// The profile is not defined in the shared AWS files.
    ProfileUndefined {
        /// The profile asked for.
        profile: String,
        /// The profiles defined there.
        defined: Vec<String>,
    },
}

/// A connection setting that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting:?}: {problem}")]
pub struct ConfigError {
    /// The setting at fault.
    pub setting: Setting,
    /// What is wrong with it.
    pub problem: ConfigProblem,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::EndpointUrl { url, fault, variable } => match fault {
                UrlFault::UserInfo => match variable {
                    Some(v) => write!(f, "{v} ({url:?}) carries a user name or password; credentials do not belong in an endpoint URL"),
                    None => write!(f, "{url:?} carries a user name or password; credentials do not belong in an endpoint URL"),
                },
                UrlFault::WhiteSpace => write!(f, "{url:?} contains white space"),
                UrlFault::NotHttp => write!(f, "{url:?} is not an http:// or https:// URL"),
                UrlFault::NoHost => write!(f, "{url:?} has no host name"),
                UrlFault::BadPort(port) => write!(f, "{url:?} has an invalid port {port:?}"),
                UrlFault::Invalid(e) => write!(f, "{url:?} is not a valid URL: {e}"),
            },
            ConfigProblem::KeyPairHalf => f.write_str("only one half of the static key pair is given"),
            ConfigProblem::AccountListsWithoutValidation => f.write_str("account lists need the account from sts:GetCallerIdentity"),
            ConfigProblem::AccountNotAllowed { account, allowed } => {
                write!(f, "the credentials belong to AWS account {account}, which is not allowed ({})", allowed.join(", "))
            }
            ConfigProblem::AccountForbidden { account } => write!(f, "the credentials belong to AWS account {account}, which is forbidden"),
            ConfigProblem::ProfileUnreadable(e) => write!(f, "could not read the shared AWS config files: {e}"),
            ConfigProblem::ProfileUndefined { profile, defined } => {
                write!(f, "profile {profile:?} is not defined in the shared AWS config or credentials file")?;
                if !defined.is_empty() {
                    write!(f, " (defined: {})", defined.join(", "))?;
                }
                Ok(())
            }
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
        what: NotFoundKind,
        /// The name, id or filter searched with.
        searched: String,
    },

    /// A lookup found more than one candidate.
    #[error("{what} is ambiguous: {searched} matched {candidates}")]
    Ambiguous {
        /// The kind of thing looked for.
        what: NotFoundKind,
        /// The name, id or filter searched with.
        searched: String,
        /// The matches, comma-separated.
        candidates: String,
    },

    /// Input that passed validation but is still unusable (e.g. a value AWS
    /// returned that we cannot interpret).
    #[error("{0}")]
    Invalid(String),

    /// A change refused to protect traffic or records the caller does not
    /// own; `kind` says which refusal, `found` what was found (what to do
    /// instead depends on how the caller is configured, so it is the
    /// caller's to say).
    #[error("{}: {found}", kind.summary())]
    Refused {
        /// Which refusal.
        kind: Refusal,
        /// What was found, in a sentence or two.
        found: String,
        /// The switch's own set identifiers (blue, green), when the refusal
        /// is about record sets that hold them.
        set_identifiers: Option<(String, String)>,
    },

    /// A gate failed during an increase, and the write that returns traffic
    /// to safety failed too: traffic is left where `source` left it. The
    /// write's error is the `source()`, not repeated in this message.
    #[error("health gate failed ({failure}); the way back to {back_to} failed")]
    WayBackFailed {
        /// The gate failure that started the way back.
        failure: crate::verdict::GateFailure,
        /// Where the way back was going.
        back_to: crate::traffic::TrafficSplit,
        /// Why the way back could not be written.
        #[source]
        source: Box<Error>,
    },

    /// A Route 53 change accepted but not `INSYNC` by the end of the wait:
    /// Route 53 holds it and will propagate it on its own.
    #[error("Route 53 change {change_id} was not INSYNC after {}", crate::duration::format(*waited))]
    NotInSync {
        /// The change's id.
        change_id: String,
        /// How long it was waited for.
        waited: std::time::Duration,
        /// What the change wrote, when known.
        written: Option<String>,
    },

    /// A connection setting that cannot be used, found before or by the
    /// credentials check.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The operation was stopped (Terraform sent StopProvider).
    #[error("stopped before completion: {0}")]
    Cancelled(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_way_back_names_the_write_error_once_in_a_chain() {
        let failure =
            crate::verdict::GateFailure::new(crate::verdict::GateKind::MinHealthyTargets, "target group ecs has no registered targets");
        let write = Error::Aws(AwsError::new("ModifyRule", AwsErrorKind::Throttling, "Rate exceeded."));
        let e = Error::WayBackFailed { failure, back_to: crate::traffic::TrafficSplit::ALL_BLUE, source: Box::new(write) };
        assert!(std::error::Error::source(&e).is_some(), "the write's error is the source");
        let chain = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(chain.matches("Rate exceeded").count(), 1, "{chain}");
        assert!(
            chain.starts_with("health gate failed (healthy targets: target group ecs has no registered targets); the way back to"),
            "{chain}"
        );
    }
}
