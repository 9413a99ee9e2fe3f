//! The `provider "bluegreen"` block.

use std::time::Duration;

use bluegreen_core::aws::{check_account_lists, check_endpoints, check_key_pair, AssumeRole, AwsSettings, Endpoints};
use bluegreen_core::duration;
use bluegreen_core::secret::Secret;
use bluegreen_core::{ConfigError, ConfigProblem, Service, Setting};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{attr_path, Diagnostics, PathBuilder};
use crate::typed::Val;
use crate::value::Path;

/// Configures how the provider reaches AWS. Every argument is optional: by default credentials, region and
/// endpoints come from the standard AWS chain (environment variables such as `AWS_REGION`, `AWS_PROFILE` and
/// `AWS_ENDPOINT_URL`, the shared config and credentials files, SSO, container and instance metadata).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ProviderConfig {
    /// AWS region for ELBv2 calls (Route 53 is global). Defaults to the region from the AWS chain (`AWS_REGION`, profile), else `us-east-1`.
    #[serde(default)]
    #[schemars(regex(pattern = "^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$"), extend("x-pattern-hint" = "be an AWS region name such as \"eu-west-1\""))]
    pub region: Val<String>,
    /// Named profile from the shared AWS config/credentials files. Must exist there.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub profile: Val<String>,
    /// Static access key id. Prefer the AWS chain (environment, profile, SSO); if set, `secret_key` must be set too.
    #[serde(default)]
    #[schemars(length(min = 1), extend("x-sensitive" = true))]
    pub access_key: Val<String>,
    /// Static secret access key, paired with `access_key`.
    #[serde(default)]
    #[schemars(length(min = 1), extend("x-sensitive" = true))]
    pub secret_key: Val<String>,
    /// Caps how often one AWS call is retried. Unset (the default), a throttled call (`Throttling`, `PriorRequestNotComplete`, `ThrottlingException`, `RequestLimitExceeded`) is retried with capped exponential backoff and jitter for `retry_timeout`, and a 5xx, timeout or dropped connection 2 times. Other errors are never retried.
    #[serde(default)]
    #[schemars(range(min = 0, max = 25))]
    pub max_retries: Val<u32>,
    /// How long a throttled AWS call is retried before the provider gives up, e.g. `"10m"`. Defaults to `"5m"`. Calls are also paced by a client-side rate limiter per service (Route 53: 4.5 requests a second, under its limit of 5).
    #[serde(default)]
    pub retry_timeout: Val<String>,
    /// Skip the `sts:GetCallerIdentity` check of the credentials when the provider is configured (as in the AWS provider). Without the check, missing or wrong credentials surface at the first read, and `allowed_account_ids` / `forbidden_account_ids` cannot be used.
    #[serde(default)]
    pub skip_credentials_validation: Val<bool>,
    /// AWS account ids the provider may work in. If the credentials belong to another account, the provider stops with an error before reading or changing anything. Conflicts with `forbidden_account_ids`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub allowed_account_ids: Val<Vec<String>>,
    /// AWS account ids the provider must not work in: if the credentials belong to one of them, the provider stops with an error before reading or changing anything. Conflicts with `allowed_account_ids`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub forbidden_account_ids: Val<Vec<String>>,
    /// Assume an IAM role for every call, starting from the credentials above.
    #[serde(default)]
    pub assume_role: Option<AssumeRoleConfig>,
    /// Endpoint overrides per service, e.g. for LocalStack; a service not named here goes to AWS (or to its `AWS_ENDPOINT_URL_*`). `AWS_ENDPOINT_URL_ROUTE_53`, `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`, `AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL` are honoured too, and checked like these: a URL without `http://` or `https://` is an error before any call.
    #[serde(default)]
    pub endpoints: Option<EndpointsConfig>,
}

/// The role to assume.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct AssumeRoleConfig {
    /// ARN of the role, e.g. `arn:aws:iam::123456789012:role/cutover`.
    #[schemars(regex(pattern = "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"), extend("x-pattern-hint" = "be an IAM role ARN such as \"arn:aws:iam::123456789012:role/cutover\""))]
    pub role_arn: Val<String>,
    /// Session name recorded in CloudTrail. Defaults to `terraform-provider-bluegreen`.
    #[serde(default)]
    #[schemars(length(min = 2, max = 64))]
    pub session_name: Val<String>,
    /// External id the role's trust policy requires, if any. Sensitive.
    #[serde(default)]
    #[schemars(length(min = 2, max = 1224), extend("x-sensitive" = true))]
    pub external_id: Val<String>,
}

/// Per-service endpoint URLs.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct EndpointsConfig {
    /// Route 53 endpoint URL, e.g. LocalStack's `http://127.0.0.1:<port>`.
    #[serde(default)]
    pub route53: Val<String>,
    /// ELBv2 endpoint URL.
    #[serde(default)]
    pub elbv2: Val<String>,
    /// STS endpoint URL (used by `assume_role`).
    #[serde(default)]
    pub sts: Val<String>,
    /// CloudWatch endpoint URL (used by health gates with alarms or metrics).
    #[serde(default)]
    pub cloudwatch: Val<String>,
}

impl ProviderConfig {
    /// Checks beyond the schema's own constraints; no AWS call.
    pub fn validate(&self, diags: &mut Diagnostics) {
        let mut fault = |e: ConfigError| {
            let (path, summary, detail) = describe(&e);
            match path {
                Some(path) => diags.error_at(path, summary, detail),
                None => diags.error(summary, detail),
            }
        };
        // Whether a value is given; `None` while it is not known yet.
        let given = |v: &Val<String>| (!v.is_unknown()).then(|| !v.is_null());
        if let (Some(access), Some(secret)) = (given(&self.access_key), given(&self.secret_key)) {
            check_key_pair(access, secret).unwrap_or_else(&mut fault);
        }
        let lists_given = !self.allowed_account_ids.is_null() || !self.forbidden_account_ids.is_null();
        check_account_lists(self.skip_credentials_validation.known() == Some(&true), lists_given).unwrap_or_else(&mut fault);
        if let Some(e) = &self.endpoints {
            let known = |v: &Val<String>| v.known().cloned();
            let endpoints =
                Endpoints { route53: known(&e.route53), elbv2: known(&e.elbv2), sts: known(&e.sts), cloudwatch: known(&e.cloudwatch) };
            check_endpoints(&endpoints).into_iter().for_each(&mut fault);
        }
        for (name, ids) in [("allowed_account_ids", &self.allowed_account_ids), ("forbidden_account_ids", &self.forbidden_account_ids)] {
            for (i, id) in ids.known().into_iter().flatten().enumerate() {
                if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                    diags.error_at(
                        attr_path(&[name]).index(i),
                        "Invalid AWS account id",
                        format!("{id:?} is not an AWS account id: 12 digits, such as \"123456789012\"."),
                    );
                }
            }
        }
        if !self.allowed_account_ids.is_null() && !self.forbidden_account_ids.is_null() {
            diags.error_at(
                attr_path(&["forbidden_account_ids"]),
                "Conflicting account lists",
                "Set allowed_account_ids or forbidden_account_ids, not both.",
            );
        }
        crate::wording::check_duration(
            &self.retry_timeout,
            attr_path(&["retry_timeout"]),
            "retry_timeout",
            Duration::from_secs(10),
            Duration::from_secs(3600),
            diags,
        );
    }

    /// The settings for the engine. Unknown values (from resources not yet
    /// created) are reported, because a provider cannot be configured with them.
    pub fn to_settings(&self, diags: &mut Diagnostics) -> AwsSettings {
        let mut known = |v: &Val<String>, path: &[&str]| -> Option<String> {
            match v {
                Val::Known(s) => Some(s.clone()),
                Val::Null => None,
                Val::Unknown => {
                    diags.error_at(attr_path(path), "Value not known yet", "The provider configuration cannot depend on values known only after apply. Use a variable or a data source instead.");
                    None
                }
            }
        };
        let endpoints = match &self.endpoints {
            Some(e) => Endpoints {
                route53: known(&e.route53, &["endpoints", "route53"]),
                elbv2: known(&e.elbv2, &["endpoints", "elbv2"]),
                sts: known(&e.sts, &["endpoints", "sts"]),
                cloudwatch: known(&e.cloudwatch, &["endpoints", "cloudwatch"]),
            },
            None => Endpoints::default(),
        };
        let assume_role = self.assume_role.as_ref().map(|r| AssumeRole {
            role_arn: known(&r.role_arn, &["assume_role", "role_arn"]).unwrap_or_default(),
            session_name: known(&r.session_name, &["assume_role", "session_name"]).or_else(|| Some(SESSION_NAME.into())),
            external_id: known(&r.external_id, &["assume_role", "external_id"]),
        });
        AwsSettings {
            region: known(&self.region, &["region"]),
            profile: known(&self.profile, &["profile"]),
            access_key: known(&self.access_key, &["access_key"]).map(Secret::new),
            secret_key: known(&self.secret_key, &["secret_key"]).map(Secret::new),
            assume_role,
            endpoints,
            max_retries: self.max_retries.known().copied(),
            retry_budget: self.retry_timeout.known().and_then(|s| duration::parse(s).ok()),
            skip_credentials_validation: self.skip_credentials_validation.known().copied().unwrap_or(false),
            allowed_account_ids: self.allowed_account_ids.known().cloned().unwrap_or_default(),
            forbidden_account_ids: self.forbidden_account_ids.known().cloned().unwrap_or_default(),
        }
    }
}

/// The assumed role's session name when none is configured (documented in the schema).
const SESSION_NAME: &str = "terraform-provider-bluegreen";

/// The attribute of the provider block a setting is configured with.
pub fn setting_attr(s: Setting) -> &'static [&'static str] {
    match s {
        Setting::Endpoint(Service::Route53) => &["endpoints", "route53"],
        Setting::Endpoint(Service::Elbv2) => &["endpoints", "elbv2"],
        Setting::Endpoint(Service::Sts) => &["endpoints", "sts"],
        Setting::Endpoint(Service::CloudWatch) => &["endpoints", "cloudwatch"],
        // Not in the configuration: the diagnostic names the variable.
        Setting::EndpointEnv(_) => &[],
        Setting::AccessKey => &["access_key"],
        Setting::SecretKey => &["secret_key"],
        Setting::Profile => &["profile"],
        Setting::AllowedAccountIds => &["allowed_account_ids"],
        Setting::ForbiddenAccountIds => &["forbidden_account_ids"],
        Setting::SkipCredentialsValidation => &["skip_credentials_validation"],
    }
}

/// A connection setting's problem as a diagnostic of the provider block: the
/// attribute (none for an environment variable), a title and what to do, the same at validation and at configure.
pub fn describe(e: &ConfigError) -> (Option<Path>, String, String) {
    let attr = setting_attr(e.setting);
    let name = attr.last().copied().unwrap_or_default();
    let (summary, detail) = match (&e.problem, e.setting) {
        (ConfigProblem::EndpointUrl { .. }, Setting::EndpointEnv(var)) => (
            format!("Invalid endpoint URL in {var}"),
            format!(
                "The environment variable {var}: {}, so the AWS SDK cannot call it; nothing was sent. Set it to a full URL such as \
                 \"http://127.0.0.1:4566\", or unset it to call AWS's own endpoints.",
                e.problem
            ),
        ),
        (ConfigProblem::EndpointUrl { .. }, _) => (
            "Invalid endpoint URL".to_string(),
            format!("{}. Use a full URL such as \"https://route53.amazonaws.com\" or \"http://127.0.0.1:4566\".", e.problem),
        ),
        (ConfigProblem::KeyPairHalf, Setting::SecretKey | Setting::AccessKey) => {
            let other = if e.setting == Setting::SecretKey { "access_key" } else { "secret_key" };
            (
                format!("Missing {name}"),
                format!("{other} is set, so {name} must be set too (or remove both and use the AWS credential chain)."),
            )
        }
        (ConfigProblem::AccountListsWithoutValidation, _) => (
            "Account check needs credentials validation".to_string(),
            "allowed_account_ids and forbidden_account_ids are checked against the account sts:GetCallerIdentity reports. Remove \
             skip_credentials_validation, or the account lists."
                .to_string(),
        ),
        (ConfigProblem::AccountNotAllowed { account, allowed }, _) => (
            format!("Invalid {name}"),
            format!(
                "The credentials belong to AWS account {account}, which is not in allowed_account_ids ({}); nothing was read or \
                 changed. Use credentials for an allowed account, or correct the list.",
                allowed.join(", ")
            ),
        ),
        (ConfigProblem::AccountForbidden { account }, _) => (
            format!("Invalid {name}"),
            format!(
                "The credentials belong to AWS account {account}, which is in forbidden_account_ids; nothing was read or changed. \
                 Use credentials for another account."
            ),
        ),
        (problem, _) => (format!("Invalid {name}"), format!("{}.", crate::wording::capitalise(&problem.to_string()))),
    };
    ((!attr.is_empty()).then(|| attr_path(attr)), summary, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(c: &ProviderConfig) -> Vec<(String, Option<Path>)> {
        let mut d = Diagnostics::new();
        c.validate(&mut d);
        d.0.into_iter().map(|d| (d.summary, d.path)).collect()
    }

    fn ids(v: &[&str]) -> Val<Vec<String>> {
        Val::Known(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn account_lists_are_checked_before_any_call() {
        let ok = ProviderConfig { allowed_account_ids: ids(&["123456789012"]), ..ProviderConfig::default() };
        assert!(errors(&ok).is_empty());
        let bad = ProviderConfig { allowed_account_ids: ids(&["123456789012", "12345"]), ..ProviderConfig::default() };
        assert_eq!(errors(&bad), [("Invalid AWS account id".to_string(), Some(attr_path(&["allowed_account_ids"]).index(1)))]);
        let both = ProviderConfig {
            allowed_account_ids: ids(&["123456789012"]),
            forbidden_account_ids: ids(&["210987654321"]),
            ..ProviderConfig::default()
        };
        assert_eq!(errors(&both), [("Conflicting account lists".to_string(), Some(attr_path(&["forbidden_account_ids"])))]);
        let skipped = ProviderConfig {
            forbidden_account_ids: ids(&["210987654321"]),
            skip_credentials_validation: Val::Known(true),
            ..ProviderConfig::default()
        };
        assert_eq!(
            errors(&skipped),
            [("Account check needs credentials validation".to_string(), Some(attr_path(&["skip_credentials_validation"])))]
        );
    }

    #[test]
    fn key_pairs_and_endpoints_are_checked_by_core_and_pointed_at_their_attribute() {
        let c = ProviderConfig { access_key: Val::Known("AKIA".into()), ..ProviderConfig::default() };
        assert_eq!(errors(&c), [("Missing secret_key".to_string(), Some(attr_path(&["secret_key"])))]);
        let c = ProviderConfig { secret_key: Val::Known("s".into()), ..ProviderConfig::default() };
        assert_eq!(errors(&c), [("Missing access_key".to_string(), Some(attr_path(&["access_key"])))]);
        let c = ProviderConfig { secret_key: Val::Known("s".into()), access_key: Val::Unknown, ..ProviderConfig::default() };
        assert!(errors(&c).is_empty(), "not known yet: not checked");
        let c = ProviderConfig {
            endpoints: Some(EndpointsConfig {
                elbv2: Val::Known("localhost:4566".into()),
                sts: Val::Known("http://127.0.0.1:4566".into()),
                cloudwatch: Val::Known("http://a b".into()),
                ..EndpointsConfig::default()
            }),
            ..ProviderConfig::default()
        };
        let mut d = Diagnostics::new();
        c.validate(&mut d);
        let got: Vec<_> = d.0.iter().map(|d| (d.path.clone(), d.detail.clone())).collect();
        assert_eq!(
            got,
            [
                (
                    Some(attr_path(&["endpoints", "elbv2"])),
                    "\"localhost:4566\" is not an http:// or https:// URL. Use a full URL such as \"https://route53.amazonaws.com\" or \
                     \"http://127.0.0.1:4566\"."
                        .to_string()
                ),
                (
                    Some(attr_path(&["endpoints", "cloudwatch"])),
                    "\"http://a b\" contains white space. Use a full URL such as \"https://route53.amazonaws.com\" or \
                     \"http://127.0.0.1:4566\"."
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn each_setting_has_its_own_attribute() {
        let settings = [
            Setting::Endpoint(Service::Route53),
            Setting::Endpoint(Service::Elbv2),
            Setting::Endpoint(Service::Sts),
            Setting::Endpoint(Service::CloudWatch),
            Setting::AccessKey,
            Setting::SecretKey,
            Setting::Profile,
            Setting::AllowedAccountIds,
            Setting::ForbiddenAccountIds,
            Setting::SkipCredentialsValidation,
        ];
        let paths: Vec<String> = settings.iter().map(|s| setting_attr(*s).join(".")).collect();
        assert_eq!(
            paths,
            [
                "endpoints.route53",
                "endpoints.elbv2",
                "endpoints.sts",
                "endpoints.cloudwatch",
                "access_key",
                "secret_key",
                "profile",
                "allowed_account_ids",
                "forbidden_account_ids",
                "skip_credentials_validation"
            ]
        );
        let e = ConfigError {
            setting: Setting::AllowedAccountIds,
            problem: ConfigProblem::AccountNotAllowed { account: "000000000000".into(), allowed: vec!["111111111111".into()] },
        };
        let (path, summary, detail) = describe(&e);
        assert_eq!((path, summary.as_str()), (Some(attr_path(&["allowed_account_ids"])), "Invalid allowed_account_ids"));
        assert!(
            detail.starts_with("The credentials belong to AWS account 000000000000, which is not in allowed_account_ids (111111111111)")
        );
        let e = ConfigError {
            setting: Setting::Profile,
            problem: ConfigProblem::ProfileUndefined { profile: "p".into(), defined: vec!["default".into()] },
        };
        assert_eq!(describe(&e).2, "Profile \"p\" is not defined in the shared AWS config or credentials file (defined: default).");
    }

    #[test]
    fn retry_timeout_is_a_duration_within_bounds() {
        let c = |s: &str| ProviderConfig { retry_timeout: Val::Known(s.into()), ..ProviderConfig::default() };
        assert!(errors(&c("10m")).is_empty());
        assert_eq!(errors(&c("1s"))[0].0, "Invalid retry_timeout");
        assert_eq!(errors(&c("soon"))[0].0, "Invalid retry_timeout");
        let mut d = Diagnostics::new();
        assert_eq!(c("10m").to_settings(&mut d).retry_budget, Some(std::time::Duration::from_secs(600)));
    }

    #[test]
    fn a_bad_endpoint_variable_names_the_variable_and_no_attribute() {
        let e = ConfigError {
            setting: Setting::EndpointEnv("AWS_ENDPOINT_URL"),
            problem: ConfigProblem::EndpointUrl {
                url: "127.0.0.1:45135".into(),
                fault: bluegreen_core::http_url::UrlFault::NotHttp,
                variable: None,
            },
        };
        let (path, summary, detail) = describe(&e);
        assert_eq!((path, summary.as_str()), (None, "Invalid endpoint URL in AWS_ENDPOINT_URL"));
        assert_eq!(
            detail,
            "The environment variable AWS_ENDPOINT_URL: \"127.0.0.1:45135\" is not an http:// or https:// URL, so the AWS SDK \
             cannot call it; nothing was sent. Set it to a full URL such as \"http://127.0.0.1:4566\", or unset it to call AWS's \
             own endpoints."
        );
    }
}
