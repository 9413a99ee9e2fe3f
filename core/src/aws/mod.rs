//! AWS wiring: turning the provider configuration into SDK clients, and the
//! narrow traits through which the engine talks to Route 53, ELBv2 and
//! CloudWatch.

pub mod cloudwatch;
pub mod elbv2;
pub mod route53;
mod sdk_error;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The provider block, as the engine sees it. Empty fields fall back to the
/// standard AWS chain (environment, shared profile, SSO, container, IMDS).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    pub assume_role: Option<AssumeRole>,
    pub endpoints: Endpoints,
    /// Attempts after the first one; `None` keeps the SDK default (2 retries).
    pub max_retries: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
}

/// Per-service endpoint overrides (LocalStack, VPC endpoints, proxies).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub route53: Option<String>,
    pub elbv2: Option<String>,
    pub sts: Option<String>,
    pub cloudwatch: Option<String>,
}

/// The clients a configured provider uses.
#[derive(Clone)]
pub struct AwsClients {
    pub route53: Arc<dyn route53::Route53Api>,
    pub elbv2: Arc<dyn elbv2::Elbv2Api>,
    /// Shared by every resource's gates in this process (one call per check for all of them).
    pub cloudwatch: crate::watch::CloudWatchReader,
    pub region: String,
}

impl std::fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClients").field("region", &self.region).finish_non_exhaustive()
    }
}

/// Checks an endpoint override the way the SDK will use it. Returns a sentence
/// for a diagnostic.
pub fn check_endpoint_url(url: &str) -> std::result::Result<(), String> {
    if url.chars().any(char::is_whitespace) {
        return Err(format!("{url:?} contains white space"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // IPv6 literals are bracketed; only a colon after the bracket starts a port.
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or_else(|| format!("{url:?} has an unclosed '['"))?;
            (addr, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host name"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(format!("{url:?} has an invalid port {port:?}"));
        }
    }
    Ok(())
}

/// Builds SDK clients from the settings. Fails with [`Error::Config`] naming
/// the attribute at fault for problems that can be detected before any call.
pub async fn connect(settings: &AwsSettings) -> Result<AwsClients> {
    for (attribute, url) in [
        ("endpoints.route53", &settings.endpoints.route53),
        ("endpoints.elbv2", &settings.endpoints.elbv2),
        ("endpoints.sts", &settings.endpoints.sts),
        ("endpoints.cloudwatch", &settings.endpoints.cloudwatch),
    ] {
        if let Some(url) = url {
            check_endpoint_url(url).map_err(|message| Error::Config { attribute, message })?;
        }
    }
    match (&settings.access_key, &settings.secret_key) {
        (Some(_), None) => {
            return Err(Error::Config {
                attribute: "secret_key",
                message: "access_key is set but secret_key is not; set both or neither".into(),
            })
        }
        (None, Some(_)) => {
            return Err(Error::Config {
                attribute: "access_key",
                message: "secret_key is set but access_key is not; set both or neither".into(),
            })
        }
        _ => {}
    }
    if let Some(profile) = &settings.profile {
        check_profile_exists(profile).await?;
    }

    let retry = match settings.max_retries {
        Some(n) => RetryConfig::standard().with_max_attempts(n.saturating_add(1)),
        None => RetryConfig::standard(),
    };
    let timeouts =
        TimeoutConfig::builder().connect_timeout(Duration::from_secs(10)).operation_attempt_timeout(Duration::from_secs(30)).build();

    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).timeout_config(timeouts);
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

    if let Some(role) = &settings.assume_role {
        let mut sts_conf = base.clone().into_builder();
        if let Some(url) = &settings.endpoints.sts {
            sts_conf.set_endpoint_url(Some(url.clone()));
        }
        let sts_conf = sts_conf.build();
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
            .session_name(role.session_name.clone().unwrap_or_else(|| "terraform-provider-bluegreen".into()))
            .configure(&sts_conf);
        if let Some(ext) = &role.external_id {
            provider = provider.external_id(ext.clone());
        }
        let provider = provider.build().await;
        base = base.into_builder().credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider)).build();
    }

    let region = base.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());

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
    Ok(AwsClients {
        route53: Arc::new(route53::SdkRoute53::new(aws_sdk_route53::Client::from_conf(r53.build()))),
        elbv2: Arc::new(crate::listeners::RuleCache::new(Arc::new(elbv2::SdkElbv2::new(
            aws_sdk_elasticloadbalancingv2::Client::from_conf(elb.build()),
        )))),
        cloudwatch: crate::watch::CloudWatchReader::new(Arc::new(cloudwatch::SdkCloudWatch::new(aws_sdk_cloudwatch::Client::from_conf(
            cw.build(),
        )))),
        region,
    })
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
        .map_err(|e| Error::Config { attribute: "profile", message: format!("could not read the shared AWS config files: {e}") })?;
    if set.get_profile(profile).is_none() {
        let known: Vec<&str> = set.profiles().collect();
        return Err(Error::Config {
            attribute: "profile",
            message: format!(
                "profile {profile:?} is not defined in the shared AWS config or credentials file{}",
                if known.is_empty() { String::new() } else { format!(" (defined: {})", known.join(", ")) }
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        assert!(check_endpoint_url("http://127.0.0.1:4566").is_ok());
        assert!(check_endpoint_url("https://route53.amazonaws.com").is_ok());
        assert!(check_endpoint_url("http://localhost:4566/").is_ok());
        assert!(check_endpoint_url("localhost:4566").is_err());
        assert!(check_endpoint_url("ftp://x").is_err());
        assert!(check_endpoint_url("http://").is_err());
        assert!(check_endpoint_url("http://host:99999").is_err());
        assert!(check_endpoint_url("http://host:abc").is_err());
    }
}
