//! AWS wiring: turning the provider configuration into SDK clients, and the
//! narrow traits through which the engine talks to Route 53, ELBv2 and
//! CloudWatch.

pub mod cloudwatch;
pub mod elbv2;
pub mod iam;
pub mod listeners;
pub mod paced;
pub mod retry;
pub mod route53;
mod sdk_error;
pub mod watch;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use tokio_util::sync::CancellationToken;

use self::retry::{Limiter, Pacer, RetryPolicy};
use crate::error::{ConfigError, ConfigProblem, Error, Result, Service, Setting};
use crate::secret::Secret;

/// The provider block, as the engine sees it. Empty fields fall back to the
/// standard AWS chain (environment, shared profile, SSO, container, IMDS).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// AWS region, e.g. `us-east-1`; `None`: from the environment or profile.
    pub region: Option<String>,
    /// Named profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// Static access key id; used together with `secret_key`.
    pub access_key: Option<Secret>,
    /// Static secret access key; never logged.
    pub secret_key: Option<Secret>,
    /// A role to assume with the credentials found.
    pub assume_role: Option<AssumeRole>,
    /// Per-service endpoint overrides.
    pub endpoints: Endpoints,
    /// Caps the retries of any one call; `None`: throttling is retried for
    /// `retry_budget`, a 5xx or lost connection twice.
    pub max_retries: Option<u32>,
    /// How long a throttled call is retried; `None`: [`retry::DEFAULT_RETRY_BUDGET`].
    pub retry_budget: Option<Duration>,
    /// Skip the `sts:GetCallerIdentity` check in [`connect`].
    pub skip_credentials_validation: bool,
    /// Refuse to run unless the credentials belong to one of these accounts.
    pub allowed_account_ids: Vec<String>,
    /// Refuse to run if the credentials belong to one of these accounts.
    pub forbidden_account_ids: Vec<String>,
}

/// Who the credentials are, from `sts:GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    /// The ARN of the user or assumed role.
    pub arn: String,
}

#[derive(Debug, Clone, Default)]
/// A role to assume (`sts:AssumeRole`) with the base credentials.
pub struct AssumeRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The session name recorded in CloudTrail; `None`: `bluegreen-core`.
    pub session_name: Option<String>,
    /// The external id the role's trust policy asks for, if any.
    pub external_id: Option<String>,
}

/// Per-service endpoint overrides (LocalStack, VPC endpoints, proxies).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Route 53 endpoint URL (e.g. LocalStack's `http://127.0.0.1:4566`).
    pub route53: Option<String>,
    /// Elastic Load Balancing v2 endpoint URL.
    pub elbv2: Option<String>,
    /// STS endpoint URL (credential validation and assume-role).
    pub sts: Option<String>,
    /// CloudWatch endpoint URL (alarm and metric gates).
    pub cloudwatch: Option<String>,
}

/// The clients a configured provider uses.
#[derive(Clone)]
pub struct AwsClients {
    /// Route 53, paced at [`ROUTE53_RATE`] requests a second and retried.
    pub route53: Arc<dyn route53::Route53Api>,
    /// ELBv2, paced at [`ELBV2_RATE`] requests a second and retried.
    pub elbv2: Arc<dyn elbv2::Elbv2Api>,
    /// Shared by every resource's gates in this process (one call per check for all of them).
    pub cloudwatch: crate::aws::watch::CloudWatchReader,
    /// The region the clients call.
    pub region: String,
    /// The account the credentials belong to, from `sts:GetCallerIdentity` (`None` when that check is skipped).
    pub account: Option<String>,
    /// When the credentials expire, if that is known and the SDK cannot renew them (see [`fixed_expiry`]): no wait
    /// may end after it.
    pub credentials_expire: Option<std::time::SystemTime>,
}

/// Route 53's documented rate is 5 requests a second per account; pacing at
/// exactly the limit meets it a little early now and then (network jitter),
/// so the provider keeps a tenth below it.
pub const ROUTE53_RATE: f64 = 4.5;
/// ELBv2's Describe* and rule APIs allow more; stay well inside them.
pub const ELBV2_RATE: f64 = 10.0;
/// CloudWatch requests per second the provider allows itself (DescribeAlarms' default quota is 9 a second; gates
/// share one DescribeAlarms and one GetMetricData per check, so this is rarely approached).
pub const CLOUDWATCH_RATE: f64 = 9.0;

impl std::fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClients").field("region", &self.region).finish_non_exhaustive()
    }
}

/// The endpoint overrides that are not usable `http://` or `https://` URLs, each with its fault.
pub fn check_endpoints(endpoints: &Endpoints) -> Vec<ConfigError> {
    [
        (Service::Route53, &endpoints.route53),
        (Service::Elbv2, &endpoints.elbv2),
        (Service::Sts, &endpoints.sts),
        (Service::CloudWatch, &endpoints.cloudwatch),
    ]
    .into_iter()
    .filter_map(|(service, url)| {
        let url = url.as_ref()?;
        let fault = crate::http_url::parse(url).err()?;
        let url = crate::http_url::redact(url);
        Some(ConfigError { setting: Setting::Endpoint(service), problem: ConfigProblem::EndpointUrl { url, fault, variable: None } })
    })
    .collect()
}

/// Each service's `AWS_ENDPOINT_URL_*` variable, which the SDK reads when the provider block does not override it.
const ENDPOINT_ENV: [(Service, &str); 4] = [
    (Service::Route53, "AWS_ENDPOINT_URL_ROUTE_53"),
    (Service::Elbv2, "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"),
    (Service::Sts, "AWS_ENDPOINT_URL_STS"),
    (Service::CloudWatch, "AWS_ENDPOINT_URL_CLOUDWATCH"),
];

/// The `AWS_ENDPOINT_URL*` variables (read with `var`) that the SDK would use for a service the provider block does
/// not override, and that are not usable `http://` or `https://` URLs: the SDK would otherwise fail the first call
/// with a message that hides the cause (a URL without a scheme reads as a lost connection). Each variable once;
/// none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true` (the SDK ignores them then).
pub fn check_endpoint_env(endpoints: &Endpoints, var: impl Fn(&str) -> Option<String>) -> Vec<ConfigError> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Vec::new();
    }
    let overridden = |s: Service| match s {
        Service::Route53 => endpoints.route53.is_some(),
        Service::Elbv2 => endpoints.elbv2.is_some(),
        Service::Sts => endpoints.sts.is_some(),
        Service::CloudWatch => endpoints.cloudwatch.is_some(),
    };
    let mut errors: Vec<ConfigError> = Vec::new();
    for (_, name) in ENDPOINT_ENV.into_iter().filter(|(s, _)| !overridden(*s)) {
        let (name, url) = match var(name) {
            Some(url) => (name, url),
            None => match var("AWS_ENDPOINT_URL") {
                Some(url) => ("AWS_ENDPOINT_URL", url),
                None => continue,
            },
        };
        let Err(fault) = crate::http_url::parse(&url) else { continue };
        if errors.iter().all(|e| e.setting != Setting::EndpointEnv(name)) {
            errors.push(ConfigError {
                setting: Setting::EndpointEnv(name),
                problem: ConfigProblem::EndpointUrl { url: crate::http_url::redact(&url), fault, variable: None },
            });
        }
    }
    errors
}

/// The `AWS_ENDPOINT_URL*` variables the SDK honours, and the service each sets.
const ENDPOINT_VARIABLES: &[(&str, Service)] = &[
    ("AWS_ENDPOINT_URL_ROUTE_53", Service::Route53),
    ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", Service::Elbv2),
    ("AWS_ENDPOINT_URL_CLOUDWATCH", Service::CloudWatch),
    ("AWS_ENDPOINT_URL_STS", Service::Sts),
    ("AWS_ENDPOINT_URL", Service::Route53),
];

/// An `AWS_ENDPOINT_URL*` variable whose URL carries a user name or password
/// (which would be quoted in "cannot reach" messages): refused, redacted.
/// Other faults are the SDK's to report.
fn check_endpoint_variables(var: impl Fn(&str) -> Option<String>) -> Option<ConfigError> {
    ENDPOINT_VARIABLES.iter().find_map(|&(name, service)| {
        let url = var(name).filter(|v| !v.is_empty())?;
        (crate::http_url::parse(&url) == Err(crate::http_url::UrlFault::UserInfo)).then(|| ConfigError {
            setting: Setting::Endpoint(service),
            problem: ConfigProblem::EndpointUrl {
                url: crate::http_url::redact(&url),
                fault: crate::http_url::UrlFault::UserInfo,
                variable: Some(name),
            },
        })
    })
}

/// Both halves of the static key pair, or neither: the error names the missing half.
pub fn check_key_pair(access_key: bool, secret_key: bool) -> std::result::Result<(), ConfigError> {
    let missing = match (access_key, secret_key) {
        (true, false) => Setting::SecretKey,
        (false, true) => Setting::AccessKey,
        _ => return Ok(()),
    };
    Err(ConfigError { setting: missing, problem: ConfigProblem::KeyPairHalf })
}

/// Account lists are checked against the account `sts:GetCallerIdentity`
/// reports, so they cannot go with skipping that call.
pub fn check_account_lists(skip_credentials_validation: bool, lists_given: bool) -> std::result::Result<(), ConfigError> {
    if skip_credentials_validation && lists_given {
        return Err(ConfigError { setting: Setting::SkipCredentialsValidation, problem: ConfigProblem::AccountListsWithoutValidation });
    }
    Ok(())
}

/// Builds SDK clients from the settings and, unless
/// `skip_credentials_validation`, checks the credentials and the account
/// with `sts:GetCallerIdentity` before anything else is read. Fails with
/// [`Error::Config`] naming the attribute at fault for problems that can be
/// detected before any call, and with the STS call's [`AwsError`](crate::AwsError) (no
/// credentials, credentials refused, endpoint unreachable) otherwise.
/// `stop` (Terraform's StopProvider) cuts retry waits short.
pub async fn connect(settings: &AwsSettings, stop: CancellationToken) -> Result<AwsClients> {
    if let Some(e) = check_endpoints(&settings.endpoints).into_iter().next() {
        return Err(e.into());
    }
    if let Some(e) = check_endpoint_variables(|name| std::env::var(name).ok()) {
        return Err(e.into());
    }
    if let Some(e) = check_endpoint_env(&settings.endpoints, |name| std::env::var(name).ok()).into_iter().next() {
        return Err(e.into());
    }
    check_key_pair(settings.access_key.is_some(), settings.secret_key.is_some())?;
    let lists_given = !settings.allowed_account_ids.is_empty() || !settings.forbidden_account_ids.is_empty();
    check_account_lists(settings.skip_credentials_validation, lists_given)?;
    if let Some(profile) = &settings.profile {
        check_profile_exists(profile).await?;
    }

    // The SDK does not retry: the pacers do, by time, with the stop token.
    let timeouts =
        TimeoutConfig::builder().connect_timeout(Duration::from_secs(10)).operation_attempt_timeout(Duration::from_secs(30)).build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled()).timeout_config(timeouts);
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let (Some(ak), Some(sk)) = (&settings.access_key, &settings.secret_key) {
        loader = loader.credentials_provider(Credentials::new(ak.expose(), sk.expose(), None, None, "bluegreen-provider-config"));
    }
    let mut base = loader.load().await;
    let region = base.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
    let sts_url =
        endpoint_for(&settings.endpoints.sts, "AWS_ENDPOINT_URL_STS", base.endpoint_url(), &format!("https://sts.{region}.amazonaws.com"));

    // Known before the role is assumed: a role session is renewed with these, so it lasts no longer than they do.
    let credentials_expire = fixed_expiry(&base).await;
    if let Some(role) = &settings.assume_role {
        let mut sts_conf = base.clone().into_builder();
        if let Some(url) = &settings.endpoints.sts {
            sts_conf.set_endpoint_url(Some(url.clone()));
        }
        // The role's own STS calls get the SDK's standard retries.
        sts_conf.set_retry_config(Some(RetryConfig::standard()));
        let sts_conf = sts_conf.build();
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
            .session_name(role.session_name.clone().unwrap_or_else(|| "bluegreen-core".into()))
            .configure(&sts_conf);
        if let Some(ext) = &role.external_id {
            provider = provider.external_id(ext.clone());
        }
        let provider = provider.build().await;
        base = base.into_builder().credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider)).build();
    }

    let policy = RetryPolicy { budget: settings.retry_budget.unwrap_or(retry::DEFAULT_RETRY_BUDGET), ..RetryPolicy::default() }
        .with_max_retries(settings.max_retries);

    let mut account = None;
    if !settings.skip_credentials_validation {
        let mut sts = aws_sdk_sts::config::Builder::from(&base);
        if let Some(url) = &settings.endpoints.sts {
            sts = sts.endpoint_url(url);
        }
        let sts = aws_sdk_sts::Client::from_conf(sts.build());
        let pacer =
            Pacer::new("STS", sts_url, Limiter::new(10.0, 10), RetryPolicy { budget: Duration::from_secs(60), ..policy }, stop.clone());
        let identity = caller_identity(&sts, &pacer).await?;
        check_account(&identity.account, settings)?;
        tracing::info!(account = %identity.account, caller = %identity.arn, "AWS credentials checked: account {}, caller {}", identity.account, identity.arn);
        account = Some(identity.account);
    }

    let mut r53 = aws_sdk_route53::config::Builder::from(&base);
    if let Some(url) = &settings.endpoints.route53 {
        r53 = r53.endpoint_url(url);
    }
    let mut elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(&base);
    if let Some(url) = &settings.endpoints.elbv2 {
        elb = elb.endpoint_url(url);
    }
    let mut cw = aws_sdk_cloudwatch::config::Builder::from(&base);
    if let Some(url) = &settings.endpoints.cloudwatch {
        cw = cw.endpoint_url(url);
    }
    let r53_url =
        endpoint_for(&settings.endpoints.route53, "AWS_ENDPOINT_URL_ROUTE_53", base.endpoint_url(), "https://route53.amazonaws.com");
    let elb_url = endpoint_for(
        &settings.endpoints.elbv2,
        "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
        base.endpoint_url(),
        &format!("https://elasticloadbalancing.{region}.amazonaws.com"),
    );
    let cw_url = endpoint_for(
        &settings.endpoints.cloudwatch,
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        base.endpoint_url(),
        &format!("https://monitoring.{region}.amazonaws.com"),
    );
    // One pacer per service per process: every resource shares its rate limit.
    let route53_pacer = Arc::new(Pacer::new("Route 53", r53_url, Limiter::new(ROUTE53_RATE, 3), policy, stop.clone()));
    let elbv2_pacer = Arc::new(Pacer::new("ELBv2", elb_url, Limiter::new(ELBV2_RATE, 20), policy, stop.clone()));
    let cloudwatch_pacer = Arc::new(Pacer::new("CloudWatch", cw_url, Limiter::new(CLOUDWATCH_RATE, 9), policy, stop));
    let route53: Arc<dyn route53::Route53Api> = Arc::new(route53::SdkRoute53::new(aws_sdk_route53::Client::from_conf(r53.build())));
    let elbv2: Arc<dyn elbv2::Elbv2Api> = Arc::new(elbv2::SdkElbv2::new(aws_sdk_elasticloadbalancingv2::Client::from_conf(elb.build())));
    let cloudwatch: Arc<dyn cloudwatch::CloudWatchApi> =
        Arc::new(cloudwatch::SdkCloudWatch::new(aws_sdk_cloudwatch::Client::from_conf(cw.build())));
    Ok(AwsClients {
        route53: Arc::new(paced::PacedRoute53::new(route53, route53_pacer)),
        elbv2: Arc::new(crate::aws::listeners::RuleCache::new(Arc::new(paced::PacedElbv2::new(elbv2, elbv2_pacer)))),
        cloudwatch: crate::aws::watch::CloudWatchReader::new(Arc::new(paced::PacedCloudWatch::new(cloudwatch, cloudwatch_pacer))),
        region,
        account,
        credentials_expire,
    })
}

/// When the credentials `conf` resolves expire, where that is known and the SDK cannot renew them: session
/// credentials from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), whose expiry
/// the SDK reports or `AWS_CREDENTIAL_EXPIRATION` (RFC 3339) states. Credentials the SDK renews itself (SSO, instance
/// and container roles, web identity, a profile's role) have no fixed end. Only looked up when `AWS_SESSION_TOKEN` is
/// set, so nothing else is resolved early.
pub async fn fixed_expiry(conf: &aws_types::SdkConfig) -> Option<std::time::SystemTime> {
    use aws_credential_types::provider::ProvideCredentials;
    let env_key = std::env::var("AWS_ACCESS_KEY_ID").ok().filter(|_| std::env::var_os("AWS_SESSION_TOKEN").is_some())?;
    let creds = conf.credentials_provider()?.provide_credentials().await.ok()?;
    // The environment's keys are the ones in use (not the provider block's, not a profile's).
    let from_env = creds.access_key_id() == env_key && creds.session_token().is_some();
    non_renewable_expiry(from_env, creds.expiry(), std::env::var("AWS_CREDENTIAL_EXPIRATION").ok().as_deref())
}

/// The fixed end of credentials: those from the environment end at their own expiry or at
/// `AWS_CREDENTIAL_EXPIRATION` (RFC 3339); any other source renews them.
pub fn non_renewable_expiry(
    from_env: bool,
    expiry: Option<std::time::SystemTime>,
    env_expiration: Option<&str>,
) -> Option<std::time::SystemTime> {
    if !from_env {
        return None;
    }
    expiry.or_else(|| env_expiration.and_then(|e| crate::clock::parse(e).ok()))
}

/// Where a service's calls go: the provider block's override, the
/// service's `AWS_ENDPOINT_URL_*`, `AWS_ENDPOINT_URL`, or AWS's own.
fn endpoint_for(configured: &Option<String>, env: &str, global: Option<&str>, default: &str) -> String {
    configured
        .clone()
        .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
        .or_else(|| global.map(str::to_string))
        .unwrap_or_else(|| default.to_string())
}

async fn caller_identity(sts: &aws_sdk_sts::Client, pacer: &Pacer) -> Result<CallerIdentity> {
    const OP: &str = "GetCallerIdentity";
    let out = pacer.call(OP, || async { sts.get_caller_identity().send().await.map_err(|e| sdk_error::classify(OP, e)) }).await?;
    let (Some(account), Some(arn)) = (out.account(), out.arn()) else {
        return Err(Error::Aws(sdk_error::missing(OP, "Account and Arn")));
    };
    Ok(CallerIdentity { account: account.to_string(), arn: arn.to_string() })
}

/// `allowed_account_ids` / `forbidden_account_ids`.
fn check_account(account: &str, settings: &AwsSettings) -> Result<()> {
    if !settings.allowed_account_ids.is_empty() && !settings.allowed_account_ids.iter().any(|a| a == account) {
        return Err(ConfigError {
            setting: Setting::AllowedAccountIds,
            problem: ConfigProblem::AccountNotAllowed { account: account.to_string(), allowed: settings.allowed_account_ids.clone() },
        }
        .into());
    }
    if settings.forbidden_account_ids.iter().any(|a| a == account) {
        return Err(ConfigError {
            setting: Setting::ForbiddenAccountIds,
            problem: ConfigProblem::AccountForbidden { account: account.to_string() },
        }
        .into());
    }
    Ok(())
}

/// An unknown profile otherwise surfaces only at the first AWS call, as an
/// opaque credentials error; check it up front so the diagnostic can point
/// at `profile`.
async fn check_profile_exists(profile: &str) -> Result<()> {
    let fs = aws_types::os_shim_internal::Fs::real();
    let env = aws_types::os_shim_internal::Env::real();
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(&fs, &env, &files, Some(Cow::Owned(profile.to_string())))
        .await
        .map_err(|e| ConfigError { setting: Setting::Profile, problem: ConfigProblem::ProfileUnreadable(e.to_string()) })?;
    if set.get_profile(profile).is_none() {
        let defined = set.profiles().map(str::to_string).collect();
        return Err(ConfigError {
            setting: Setting::Profile,
            problem: ConfigProblem::ProfileUndefined { profile: profile.to_string(), defined },
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_credentials_the_sdk_cannot_renew_have_a_fixed_end() {
        let at = crate::clock::parse("2026-12-08T10:00:00Z").unwrap();
        assert_eq!(non_renewable_expiry(true, Some(at), None), Some(at));
        assert_eq!(non_renewable_expiry(true, None, Some("2026-12-08T10:00:00Z")), Some(at), "AWS_CREDENTIAL_EXPIRATION");
        assert_eq!(non_renewable_expiry(true, None, None), None, "no known end");
        assert_eq!(non_renewable_expiry(true, None, Some("soon")), None);
        assert_eq!(non_renewable_expiry(false, Some(at), Some("2026-12-08T10:00:00Z")), None, "another source renews itself");
    }

    fn settings(allowed: &[&str], forbidden: &[&str]) -> AwsSettings {
        AwsSettings {
            allowed_account_ids: allowed.iter().map(|s| s.to_string()).collect(),
            forbidden_account_ids: forbidden.iter().map(|s| s.to_string()).collect(),
            ..AwsSettings::default()
        }
    }

    #[test]
    fn account_guards() {
        assert!(check_account("111111111111", &settings(&[], &[])).is_ok());
        assert!(check_account("111111111111", &settings(&["111111111111"], &[])).is_ok());
        let e = check_account("000000000000", &settings(&["111111111111"], &[])).unwrap_err();
        assert!(
            matches!(&e, Error::Config(ConfigError { setting: Setting::AllowedAccountIds, problem: ConfigProblem::AccountNotAllowed { account, .. } }) if account == "000000000000"),
            "{e}"
        );
        let e = check_account("000000000000", &settings(&[], &["000000000000"])).unwrap_err();
        assert!(matches!(e, Error::Config(ConfigError { setting: Setting::ForbiddenAccountIds, .. })), "{e}");
    }

    #[test]
    fn key_pair_and_account_lists() {
        assert_eq!(check_key_pair(true, true), Ok(()));
        assert_eq!(check_key_pair(false, false), Ok(()));
        assert_eq!(check_key_pair(true, false).unwrap_err().setting, Setting::SecretKey, "the missing half");
        assert_eq!(check_key_pair(false, true).unwrap_err().setting, Setting::AccessKey, "the missing half");
        assert_eq!(check_account_lists(true, true).unwrap_err().setting, Setting::SkipCredentialsValidation);
        assert!(check_account_lists(true, false).is_ok() && check_account_lists(false, true).is_ok());
    }

    #[test]
    fn endpoint_urls() {
        let check = |url: &str| {
            let e = Endpoints { elbv2: Some(url.into()), ..Endpoints::default() };
            match check_endpoints(&e).as_slice() {
                [] => Ok(()),
                [one] => {
                    assert_eq!(one.setting, Setting::Endpoint(Service::Elbv2));
                    Err(one.problem.to_string())
                }
                more => panic!("{more:?}"),
            }
        };
        assert!(check("http://127.0.0.1:4566").is_ok());
        assert!(check("https://route53.amazonaws.com").is_ok());
        assert!(check("http://localhost:4566/").is_ok());
        assert!(check("localhost:4566").is_err());
        assert!(check("ftp://x").is_err());
        assert!(check("http://").is_err());
        assert!(check("http://host:99999").is_err());
        assert!(check("http://host:abc").is_err());
        assert_eq!(check("http://localhost:99999"), Err("\"http://localhost:99999\" has an invalid port \"99999\"".into()));
        assert_eq!(check("http://"), Err("\"http://\" has no host name".into()));
        assert_eq!(check("localhost:4566"), Err("\"localhost:4566\" is not an http:// or https:// URL".into()));
        assert_eq!(check("http://sts .example.com"), Err("\"http://sts .example.com\" contains white space".into()));
        let all = Endpoints { route53: Some("x".into()), elbv2: None, sts: Some("http://ok".into()), cloudwatch: Some("y".into()) };
        let settings: Vec<Setting> = check_endpoints(&all).into_iter().map(|e| e.setting).collect();
        assert_eq!(settings, [Setting::Endpoint(Service::Route53), Setting::Endpoint(Service::CloudWatch)]);
    }

    #[test]
    fn endpoint_variables_the_sdk_would_use_are_checked_before_any_call() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        let faults = |e: &Endpoints, vars: &'static [(&'static str, &'static str)]| -> Vec<(Setting, String)> {
            check_endpoint_env(e, env(vars)).into_iter().map(|c| (c.setting, c.problem.to_string())).collect()
        };
        let none = Endpoints::default();
        assert_eq!(
            faults(&none, &[("AWS_ENDPOINT_URL", "127.0.0.1:45135")]),
            [(Setting::EndpointEnv("AWS_ENDPOINT_URL"), "\"127.0.0.1:45135\" is not an http:// or https:// URL".to_string())],
            "reported once, though every service would use it"
        );
        assert!(faults(&none, &[("AWS_ENDPOINT_URL", "http://127.0.0.1:45135")]).is_empty());
        assert!(faults(&none, &[]).is_empty());
        assert!(faults(&none, &[("AWS_ENDPOINT_URL", "")]).is_empty(), "empty is unset");
        // A service's own variable wins over the global one, and the provider block over both.
        assert_eq!(
            faults(&none, &[("AWS_ENDPOINT_URL", "http://ok:1"), ("AWS_ENDPOINT_URL_ROUTE_53", "localhost:4566")]),
            [(Setting::EndpointEnv("AWS_ENDPOINT_URL_ROUTE_53"), "\"localhost:4566\" is not an http:// or https:// URL".to_string())]
        );
        let r53 = Endpoints { route53: Some("http://ok:1".into()), ..Endpoints::default() };
        assert!(faults(&r53, &[("AWS_ENDPOINT_URL_ROUTE_53", "localhost:4566")]).is_empty());
        let all = Endpoints {
            route53: Some("http://a".into()),
            elbv2: Some("http://a".into()),
            sts: Some("http://a".into()),
            cloudwatch: Some("http://a".into()),
        };
        assert!(faults(&all, &[("AWS_ENDPOINT_URL", "x")]).is_empty(), "overridden everywhere: not used");
        assert!(
            faults(&none, &[("AWS_ENDPOINT_URL", "x"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]).is_empty(),
            "the SDK ignores them then"
        );
        assert_eq!(faults(&none, &[("AWS_ENDPOINT_URL_CLOUDWATCH", "http://a b")]).len(), 1);
    }
}

#[cfg(test)]
mod endpoint_variable_tests {
    use super::*;

    #[test]
    fn an_endpoint_variable_with_a_password_is_refused_without_echoing_it() {
        let e = check_endpoint_variables(|v| {
            (v == "AWS_ENDPOINT_URL_CLOUDWATCH").then(|| "https://ci:pl4nted-s3cret@monitoring.example/".into())
        })
        .expect("refused");
        assert_eq!(e.setting, Setting::Endpoint(Service::CloudWatch));
        let text = e.problem.to_string();
        assert!(!text.contains("pl4nted-s3cret") && !text.contains("ci:"), "{text}");
        assert_eq!(
            text,
            "AWS_ENDPOINT_URL_CLOUDWATCH (\"https://***@monitoring.example/\") carries a user name or password; credentials do not belong in an endpoint URL"
        );
        assert_eq!(check_endpoint_variables(|_| Some("http://127.0.0.1:4566".into())), None);
        assert_eq!(check_endpoint_variables(|_| None), None);
    }

    #[test]
    fn an_endpoint_override_with_a_password_is_refused_without_echoing_it() {
        let endpoints = Endpoints { route53: Some("http://u:pl4nted-s3cret@127.0.0.1:4566".into()), ..Endpoints::default() };
        let errors = check_endpoints(&endpoints);
        assert_eq!(errors.len(), 1);
        assert!(!errors[0].problem.to_string().contains("pl4nted-s3cret"), "{}", errors[0].problem);
    }
}
