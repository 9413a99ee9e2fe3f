//! Where the tests find terraform, the provider build and LocalStack, and
//! the AWS clients the fixtures use.

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Provider source address, as in `required_providers`.
pub const PROVIDER_SOURCE: &str = "cutover/bluegreen";

/// The provider's address in terraform's JSON output.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/cutover/bluegreen";

/// The binary terraform starts (dev_overrides looks for exactly this name).
pub const PROVIDER_BINARY: &str = "terraform-provider-bluegreen";

/// How long one terraform command may take. Generous: on a busy 2-core CI
/// runner terraform starts the provider three or four times per command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// The region every test uses (LocalStack keeps ELBv2 state per region).
pub const REGION: &str = "us-east-1";

const HOW_TO_RUN: &str =
    "run the acceptance tests with `make testacc` (it installs terraform 1.0.3, 1.6.6 and 1.15.5 into .tools/, builds the provider \
     and starts LocalStack), or set BLUEGREEN_TERRAFORM, BLUEGREEN_PROVIDER_DIR and BLUEGREEN_LOCALSTACK_ENDPOINT";

/// Where everything the tests need lives. Resolved once per test binary.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// The repository root.
    pub root: PathBuf,
    /// The terraform binary (`BLUEGREEN_TERRAFORM`, else `.tools/bin/terraform`, 1.0.3).
    pub terraform: PathBuf,
    /// What `terraform version -json` of that binary says, asked once per test binary.
    pub terraform_version: TerraformVersion,
    /// Directory holding the `terraform-provider-bluegreen` build under test.
    pub provider_dir: PathBuf,
    /// LocalStack, e.g. `http://127.0.0.1:38975`.
    pub endpoint: String,
}

/// The test environment. Panics (never skips) when something is missing.
pub fn test_env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf();
        let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());

        let terraform = from_env("BLUEGREEN_TERRAFORM").map(PathBuf::from).unwrap_or_else(|| root.join(".tools/bin/terraform"));
        if !is_executable(&terraform) {
            panic!("terraform not found at {} (BLUEGREEN_TERRAFORM or .tools/bin/terraform): {HOW_TO_RUN}", terraform.display());
        }

        let terraform_version = TerraformVersion::of(&terraform);
        eprintln!("acceptance tests: terraform {terraform_version} ({})", terraform.display());

        let provider_dir = from_env("BLUEGREEN_PROVIDER_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target/debug"));
        let provider = provider_dir.join(PROVIDER_BINARY);
        if !is_executable(&provider) {
            panic!(
                "provider binary not found at {} (BLUEGREEN_PROVIDER_DIR or target/debug); build it with \
                 `cargo build -p terraform-provider-bluegreen`, or {HOW_TO_RUN}",
                provider.display()
            );
        }
        let provider_dir = provider_dir.canonicalize().unwrap_or(provider_dir);
        warn_if_stale(&root, &provider);

        let endpoint = match from_env("BLUEGREEN_LOCALSTACK_ENDPOINT") {
            Some(e) => e,
            None => {
                let file = root.join(".tools/localstack/endpoint");
                std::fs::read_to_string(&file)
                    .map(|s| s.trim().to_string())
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| panic!("LocalStack is not running ({} is missing): {HOW_TO_RUN}", file.display()))
            }
        };
        let endpoint = endpoint.trim_end_matches('/').to_string();
        check_reachable(&endpoint);
        TestEnv { root, terraform, terraform_version, provider_dir, endpoint }
    })
}

/// A Terraform release, `major.minor.patch`. Ordered, so tests can branch
/// with `env.terraform_version >= TerraformVersion::new(1, 3, 0)`, and only
/// where Terraform versions truly differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TerraformVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl TerraformVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> TerraformVersion {
        TerraformVersion { major, minor, patch }
    }

    /// Runs `terraform version -json` (with no CLI configuration and no
    /// checkpoint call) and reads `terraform_version`. Panics if it cannot.
    pub fn of(terraform: &Path) -> TerraformVersion {
        let out = Command::new(terraform)
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} version -json: {e}", terraform.display()));
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Option<TerraformVersion> = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|j| j["terraform_version"].as_str().and_then(|s| s.parse().ok()));
        match v {
            Some(v) if out.status.success() => v,
            _ => panic!(
                "{} version -json did not say which version it is ({}):\n{text}\n{}",
                terraform.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

impl std::str::FromStr for TerraformVersion {
    type Err = String;

    /// `1.15.5`; a pre-release suffix (`1.16.0-beta1`) is ignored.
    fn from_str(s: &str) -> Result<TerraformVersion, String> {
        let core = s.split(['-', '+']).next().unwrap_or(s);
        let parts: Vec<u32> = core.split('.').map(str::parse).collect::<Result<_, _>>().map_err(|e| format!("{s:?}: {e}"))?;
        match parts[..] {
            [major, minor, patch] => Ok(TerraformVersion { major, minor, patch }),
            _ => Err(format!("{s:?} is not major.minor.patch")),
        }
    }
}

impl fmt::Display for TerraformVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn check_reachable(endpoint: &str) {
    let authority = endpoint.split("://").nth(1).unwrap_or(endpoint).split('/').next().unwrap_or("");
    let ok = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if !ok {
        panic!("LocalStack is not answering at {endpoint}: {HOW_TO_RUN}");
    }
}

/// The tests do not build the provider; a binary older than its sources is
/// the usual reason for a puzzling failure, so say so (shown with failures).
fn warn_if_stale(root: &Path, provider: &Path) {
    fn newest(dir: &Path, acc: &mut SystemTime) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                newest(&p, acc);
            } else if p.extension().is_some_and(|x| x == "rs" || x == "toml" || x == "proto") {
                if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                    *acc = (*acc).max(t);
                }
            }
        }
    }
    let Ok(built) = std::fs::metadata(provider).and_then(|m| m.modified()) else { return };
    let mut src = UNIX_EPOCH;
    newest(&root.join("provider"), &mut src);
    newest(&root.join("core"), &mut src);
    if src > built {
        eprintln!(
            "warning: {} is older than the provider sources; run `cargo build -p terraform-provider-bluegreen` (make testacc does)",
            provider.display()
        );
    }
}

/// A name part unique to this call, this process and this moment: lower-case
/// letters and digits, `prefix` + 8 characters. Short enough for load
/// balancer and target group names (32 characters at most).
pub fn unique_suffix(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // SplitMix64 over the inputs, so that suffixes look unrelated.
    let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut s = String::with_capacity(prefix.len() + 8);
    s.push_str(prefix);
    for _ in 0..8 {
        s.push(ALPHABET[(x % 36) as usize] as char);
        x /= 36;
    }
    s
}

/// Runs a future on the harness's shared Tokio runtime (tests are plain
/// synchronous `#[test]`s; only the fixtures are async).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime"))
        .block_on(f)
}

/// AWS SDK clients pointed at LocalStack (credentials `test`/`test`).
#[derive(Clone)]
pub struct AwsClients {
    pub route53: aws_sdk_route53::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

pub fn aws() -> &'static AwsClients {
    static CLIENTS: OnceLock<AwsClients> = OnceLock::new();
    CLIENTS.get_or_init(|| AwsClients::at(&test_env().endpoint, aws_config::retry::RetryConfig::standard()))
}

impl AwsClients {
    /// Clients for `endpoint` (LocalStack, or a [`crate::proxy::Proxy`]) with this
    /// retry policy, e.g. `RetryConfig::disabled()` to see every injected fault.
    pub fn at(endpoint: &str, retry: aws_config::retry::RetryConfig) -> AwsClients {
        let conf = block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(endpoint)
                .retry_config(retry)
                .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "bluegreen-acceptance"))
                .load(),
        );
        AwsClients {
            route53: aws_sdk_route53::Client::new(&conf),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            ec2: aws_sdk_ec2::Client::new(&conf),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&conf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_unique_and_fit_aws_names() {
        let all: std::collections::BTreeSet<String> = (0..1000).map(|_| unique_suffix("ds")).collect();
        assert_eq!(all.len(), 1000);
        for s in &all {
            assert_eq!(s.len(), 10);
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{s}");
        }
    }
}
