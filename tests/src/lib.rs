//! Harness for the acceptance tests: the real `terraform` CLI driving this
//! build of the provider against LocalStack. `make testacc` runs the suites
//! with Terraform 1.15.5 and 1.0.3 (and some with 1.6.6), one version per run
//! (`BLUEGREEN_TERRAFORM`); [`TestEnv::terraform_version`] says which one runs,
//! for the few places where versions truly differ.
//!
//! In the spirit of ripgrep's test helper, every test gets its own
//! [`Workdir`] (a temporary directory with its own CLI config, `HOME` and
//! state) and runs terraform in it with a clean, explicit environment, so
//! tests can run in parallel and nothing from the developer's machine (an
//! `~/.aws` profile, `TF_LOG`, a plugin cache) leaks in.
//!
//! AWS objects the configurations look up are created with the AWS SDK for
//! Rust by [`fixture`]. LocalStack's state is shared by every test of a run
//! (and by later runs against the same instance), so fixtures take a
//! [`unique_suffix`] and every name derived from it is unique.
//!
//! To count the provider's AWS calls or inject faults into them (throttling,
//! 5xx, resets, delays), send its traffic through a [`proxy::Proxy`] with
//! [`Workdir::with_proxy`].
//!
//! Nothing is skipped silently: if terraform, the provider build or
//! LocalStack is missing, the tests panic and say to run `make testacc`.

use std::fmt;
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod proxy;

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

/// The result of one terraform command. Never a panic by itself, so tests
/// can assert on failures.
#[derive(Debug, Clone)]
pub struct Output {
    /// The arguments terraform was run with (after `terraform`).
    pub args: Vec<String>,
    /// The terraform that ran them.
    pub terraform_version: TerraformVersion,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (`None` if terraform was killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Errors and warnings terraform printed, in order. Terraform 1.0.3
    /// prints errors on stderr and warnings on stdout.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all = Diagnostic::parse(&self.stderr);
        all.extend(Diagnostic::parse(&self.stdout));
        all
    }

    pub fn errors(&self) -> Vec<Diagnostic> {
        self.diagnostics().into_iter().filter(|d| d.severity == Severity::Error).collect()
    }

    /// The one error with this summary; panics (showing the output) unless
    /// there is exactly one.
    pub fn error(&self, summary: &str) -> Diagnostic {
        let mut found: Vec<Diagnostic> = self.errors().into_iter().filter(|d| d.summary == summary).collect();
        if found.len() != 1 {
            panic!("expected exactly one error with summary {summary:?}, found {}\n{self}", found.len());
        }
        found.remove(0)
    }

    /// Whether stdout has a line equal to `line` once runs of white space are
    /// collapsed on both sides (terraform aligns `=` in plans, so
    /// `~ traffic = 0 -> 50` matches `~ traffic      = 0 -> 50`).
    pub fn has_line(&self, line: &str) -> bool {
        let want = collapse_ws(line);
        self.stdout.lines().any(|l| collapse_ws(l) == want)
    }

    /// Panics with the whole output unless terraform succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        if !self.success() {
            panic!("terraform failed\n{self}");
        }
        self
    }

    /// Panics with the whole output unless terraform failed.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        if self.success() {
            panic!("terraform succeeded, but a failure was expected\n{self}");
        }
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: terraform {} (terraform {})", self.args.join(" "), self.terraform_version)?;
        writeln!(f, "status: {} after {:.1?}", self.status, self.elapsed)?;
        writeln!(f, "---------- stdout ----------\n{}", self.stdout)?;
        write!(f, "---------- stderr ----------\n{}", self.stderr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One diagnostic as terraform prints it without colour:
///
/// ```text
/// Error: Invalid port
///
///   with data.bluegreen_listener.l,
///   on main.tf line 10, in data "bluegreen_listener" "l":
///   10:   port = 70000
///
/// port must be between 1 and 65535, got 70000.
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    /// Everything after the summary line, as printed (source pointer, then detail).
    pub body: String,
}

impl Diagnostic {
    /// Splits terraform's text output into diagnostics. Lines before the first
    /// `Error:`/`Warning:` header (and log lines) are not part of any.
    pub fn parse(text: &str) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = Vec::new();
        for line in text.lines() {
            let header = line
                .strip_prefix("Error: ")
                .map(|s| (Severity::Error, s))
                .or_else(|| line.strip_prefix("Warning: ").map(|s| (Severity::Warning, s)));
            match (header, out.last_mut()) {
                (Some((severity, summary)), _) => {
                    out.push(Diagnostic { severity, summary: summary.trim().to_string(), body: String::new() })
                }
                (None, Some(d)) => {
                    d.body.push_str(line);
                    d.body.push('\n');
                }
                (None, None) => {}
            }
        }
        for d in &mut out {
            d.body = d.body.trim().to_string();
        }
        out
    }

    /// `(file, line)` from `on main.tf line 7, in …`.
    pub fn subject(&self) -> Option<(String, usize)> {
        let line = self.body.lines().find_map(|l| l.trim_start().strip_prefix("on "))?;
        let (file, rest) = line.split_once(" line ")?;
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((file.to_string(), n.parse().ok()?))
    }

    /// The detail text: the body without the `with …`/`on …` pointer and the
    /// quoted source lines, re-joined into one line (terraform wraps at 78
    /// columns, so words may be split across lines).
    pub fn detail(&self) -> String {
        let mut paragraphs = self.body.split("\n\n").map(str::trim).collect::<Vec<_>>();
        if paragraphs.first().is_some_and(|p| p.starts_with("with ") || p.starts_with("on ")) {
            paragraphs.remove(0);
        }
        paragraphs.join("\n\n").split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}\n\n{}", self.severity, self.summary, self.body)
    }
}

/// Text of a Rust `Debug` dump of an SDK error, which no diagnostic may show.
pub const DEBUG_DUMPS: &[&str] = &["DispatchFailure(", "ConnectorError", "{ source:"];

/// The diagnostic lines of `out` holding a Rust debug dump (log lines, which
/// start with a timestamp or `[`, are not diagnostics and are skipped).
pub fn debug_dumps(out: &Output) -> Vec<String> {
    out.diagnostics()
        .iter()
        .flat_map(|d| std::iter::once(d.summary.clone()).chain(d.body.lines().map(str::to_string)).collect::<Vec<_>>())
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with('[') || t.starts_with("20") && t.get(4..5) == Some("-"))
        })
        .filter(|l| DEBUG_DUMPS.iter().any(|d| l.contains(d)))
        .collect()
}

/// Every terraform command the suites run passes through here: no
/// diagnostic may carry a Rust debug dump (issue 12).
#[track_caller]
fn assert_no_debug_dump(out: &Output) {
    let dumps = debug_dumps(out);
    if !dumps.is_empty() {
        panic!("a diagnostic holds a Rust debug dump: {dumps:?}\n{out}");
    }
}

/// The `terraform` block every work directory gets (in `versions.tf`, so
/// `main.tf` line numbers are the test's own).
pub const VERSIONS_TF: &str = r#"terraform {
  required_providers {
    bluegreen = {
      source = "cutover/bluegreen"
    }
  }
}
"#;

/// A temporary directory to run terraform in, removed when dropped (kept,
/// with its path printed, if the test panicked, to allow a post-mortem).
pub struct Workdir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    env: &'static TestEnv,
    /// Where the provider sends its AWS calls; LocalStack unless set.
    aws_endpoint: Option<String>,
    /// How long one terraform command may take ([`COMMAND_TIMEOUT`] unless set).
    timeout: Duration,
    /// Run terraform (and so the provider) with no AWS credentials at all.
    no_credentials: bool,
}

impl Workdir {
    /// A fresh directory named after the test, with `versions.tf` and the
    /// CLI configuration that points terraform at the build under test.
    pub fn new(name: &str) -> Workdir {
        let env = test_env();
        let dir = tempfile::Builder::new().prefix(&format!("bluegreen-acc-{name}-")).tempdir().expect("create a temporary directory");
        let path = dir.path().to_path_buf();
        let wd = Workdir { dir: Some(dir), path, env, aws_endpoint: None, timeout: COMMAND_TIMEOUT, no_credentials: false };
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            env.provider_dir.display()
        );
        wd.write(".terraformrc", &cli);
        wd.write("versions.tf", VERSIONS_TF);
        wd
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn env(&self) -> &'static TestEnv {
        self.env
    }

    /// Sends the provider's AWS calls to `url` (`AWS_ENDPOINT_URL`) instead
    /// of LocalStack. Fixtures and [`aws`] keep calling LocalStack directly.
    pub fn with_endpoint(mut self, url: &str) -> Workdir {
        self.aws_endpoint = Some(url.trim_end_matches('/').to_string());
        self
    }

    /// Lets each terraform command run up to `timeout` instead of
    /// [`COMMAND_TIMEOUT`] (`make bench` applies hundreds of resources).
    pub fn with_timeout(mut self, timeout: Duration) -> Workdir {
        self.timeout = timeout;
        self
    }

    /// Runs terraform with no AWS credentials in its environment (no
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`; the shared files are
    /// `/dev/null` and instance metadata is off anyway), as a new user would.
    pub fn without_credentials(mut self) -> Workdir {
        self.no_credentials = true;
        self
    }

    /// Sends the provider's AWS calls through `proxy` (see [`proxy`]).
    pub fn with_proxy(self, proxy: &proxy::Proxy) -> Workdir {
        self.with_endpoint(&proxy.endpoint())
    }

    /// The endpoint the provider is given: LocalStack, or the one set by [`Workdir::with_endpoint`].
    pub fn aws_endpoint(&self) -> &str {
        self.aws_endpoint.as_deref().unwrap_or(&self.env.endpoint)
    }

    /// Writes (or overwrites) a file relative to the directory.
    pub fn write(&self, rel: &str, contents: &str) {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    /// Writes `main.tf`.
    pub fn config(&self, contents: &str) {
        self.write("main.tf", contents);
    }

    /// The environment terraform runs with: nothing inherited but `PATH`.
    fn base_env(&self) -> Vec<(String, String)> {
        let home = self.path.display().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("TF_CLI_CONFIG_FILE".into(), self.path.join(".terraformrc").display().to_string()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("AWS_ENDPOINT_URL".into(), self.aws_endpoint().to_string()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_DEFAULT_REGION".into(), REGION.into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
            ("HOME".into(), home),
        ];
        env.push(("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())));
        if self.no_credentials {
            env.retain(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY");
        }
        env
    }

    /// Runs `terraform <args>` with extra environment variables (which
    /// override the defaults, e.g. `TF_LOG` or other AWS credentials).
    /// Never panics on a failed command; panics only if terraform cannot be
    /// started or exceeds its timeout ([`COMMAND_TIMEOUT`] by default).
    pub fn run_with_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(&self.env.terraform);
        cmd.args(args)
            .current_dir(&self.path)
            .env_clear()
            .envs(self.base_env())
            .envs(extra_env.iter().map(|(k, v)| (*k, *v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so a hung run can be ended with its providers.
            .process_group(0);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", self.env.terraform.display()));
        let pid = child.id();
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let out_reader = thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            b
        });
        let err_reader = thread::spawn(move || {
            let mut b = Vec::new();
            let _ = err.read_to_end(&mut b);
            b
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > self.timeout => {
                    // The group id is terraform's pid (process_group(0) above).
                    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
                    let _ = child.wait();
                    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
                    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
                    panic!(
                        "terraform {} did not finish within {:?} (killed) in {}\n---------- stdout ----------\n{stdout}\n---------- stderr ----------\n{stderr}",
                        args.join(" "),
                        self.timeout,
                        self.path.display()
                    );
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for terraform: {e}"),
            }
        };
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
        let output = Output { args, terraform_version: self.env.terraform_version, status, stdout, stderr, elapsed: started.elapsed() };
        assert_no_debug_dump(&output);
        output
    }

    /// Runs `terraform <args>` and, as soon as terraform writes a line to
    /// stderr for which `when` is true (e.g. a provider log line with
    /// `TF_LOG`), sends SIGINT to its process group, as Ctrl-C in a terminal
    /// does (terraform, its panicwrap child and the providers all receive
    /// it; the panicwrap parent alone ignores it). Then waits for terraform
    /// to finish. Panics if no line matched.
    pub fn run_interrupted(&self, args: &[&str], extra_env: &[(&str, &str)], when: impl Fn(&str) -> bool + Send + 'static) -> Output {
        self.run_signalled(args, extra_env, "INT", when)
    }

    /// As [`Workdir::run_interrupted`], with another signal to the process
    /// group: `"KILL"` ends terraform and its providers at once, as a CI
    /// runner cancelling a job or a machine going away does (no state is
    /// written, nothing is cleaned up).
    pub fn run_signalled(
        &self,
        args: &[&str],
        extra_env: &[(&str, &str)],
        signal: &str,
        when: impl Fn(&str) -> bool + Send + 'static,
    ) -> Output {
        use std::io::BufRead;
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let mut cmd = Command::new(&self.env.terraform);
        cmd.args(args)
            .current_dir(&self.path)
            .env_clear()
            .envs(self.base_env())
            .envs(extra_env.iter().map(|(k, v)| (*k, *v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", self.env.terraform.display()));
        let pid = child.id().to_string();
        let mut out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let out_reader = thread::spawn(move || {
            let mut b = Vec::new();
            let _ = out.read_to_end(&mut b);
            b
        });
        let matched = Arc::new(AtomicBool::new(false));
        let seen = matched.clone();
        let err_reader = thread::spawn(move || {
            let mut text = String::new();
            for line in std::io::BufReader::new(err).lines().map_while(std::result::Result::ok) {
                if !seen.load(Ordering::Relaxed) && when(&line) {
                    seen.store(true, Ordering::Relaxed);
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        let mut interrupted = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if !interrupted && matched.load(Ordering::Relaxed) => {
                    let _ = Command::new("kill").args([&format!("-{signal}"), "--", &format!("-{pid}")]).status();
                    interrupted = true;
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
                    let _ = child.wait();
                    panic!("terraform {} did not finish within {:?} (killed)", args.join(" "), self.timeout);
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("waiting for terraform: {e}"),
            }
        };
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
        let stderr = err_reader.join().unwrap_or_default();
        let output = Output {
            args: args.iter().map(|s| s.to_string()).collect(),
            terraform_version: self.env.terraform_version,
            status,
            stdout,
            stderr,
            elapsed: started.elapsed(),
        };
        if !interrupted {
            panic!("no stderr line matched, so terraform was never interrupted\n{output}");
        }
        assert_no_debug_dump(&output);
        output
    }

    /// Runs `terraform <args>` as given.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// `terraform plan -no-color -input=false <extra>`, whatever the outcome.
    pub fn plan_output(&self, extra: &[&str]) -> Output {
        self.run(&with_flags(&["plan", "-no-color", "-input=false"], extra))
    }

    /// `terraform plan`; panics unless it succeeds (exit 0, or 2 with
    /// `-detailed-exitcode`: changes present).
    #[track_caller]
    pub fn plan(&self, extra: &[&str]) -> Output {
        let out = self.plan_output(extra);
        let ok = out.success() || (extra.contains(&"-detailed-exitcode") && out.code() == Some(2));
        if !ok {
            panic!("terraform plan failed\n{out}");
        }
        out
    }

    /// `terraform apply -no-color -input=false -auto-approve <extra>`, whatever the outcome.
    pub fn apply_output(&self, extra: &[&str]) -> Output {
        self.run(&with_flags(&["apply", "-no-color", "-input=false", "-auto-approve"], extra))
    }

    /// `terraform apply`; panics unless it succeeds.
    #[track_caller]
    pub fn apply(&self, extra: &[&str]) -> Output {
        let out = self.apply_output(extra);
        out.assert_success();
        out
    }

    /// `terraform validate -no-color`, whatever the outcome.
    pub fn validate_output(&self) -> Output {
        self.run(&["validate", "-no-color"])
    }

    /// `terraform output -json`: the root module's outputs, by name, each
    /// `{"value": …, "type": …, "sensitive": …}`.
    #[track_caller]
    pub fn output_json(&self) -> serde_json::Value {
        self.json(&["output", "-no-color", "-json"])
    }

    /// The value of one output (panics if it is missing).
    #[track_caller]
    pub fn output(&self, name: &str) -> serde_json::Value {
        let all = self.output_json();
        match all.get(name) {
            Some(o) => o["value"].clone(),
            None => panic!("no output {name:?}; outputs: {all:#}"),
        }
    }

    /// `terraform show -json`: the state.
    #[track_caller]
    pub fn show_json(&self) -> serde_json::Value {
        self.json(&["show", "-no-color", "-json"])
    }

    /// `terraform providers schema -json`.
    #[track_caller]
    pub fn providers_schema_json(&self) -> serde_json::Value {
        self.json(&["providers", "schema", "-json"])
    }

    /// The attribute values of one resource in the state (`terraform show
    /// -json`), searched in the root module and every child module, e.g.
    /// `bluegreen_switch.x` or `module.sw[1].bluegreen_switch.this`. `None`
    /// when the state has no such resource.
    #[track_caller]
    pub fn state_resource(&self, address: &str) -> Option<serde_json::Value> {
        fn find(module: &serde_json::Value, address: &str) -> Option<serde_json::Value> {
            let here = module["resources"].as_array().into_iter().flatten().find(|r| r["address"] == address).map(|r| r["values"].clone());
            here.or_else(|| module["child_modules"].as_array().into_iter().flatten().find_map(|m| find(m, address)))
        }
        find(&self.show_json()["values"]["root_module"], address)
    }

    /// Every resource address in the state, root and child modules.
    #[track_caller]
    pub fn state_addresses(&self) -> Vec<String> {
        fn walk(module: &serde_json::Value, out: &mut Vec<String>) {
            for r in module["resources"].as_array().into_iter().flatten() {
                out.push(r["address"].as_str().unwrap_or_default().to_string());
            }
            for m in module["child_modules"].as_array().into_iter().flatten() {
                walk(m, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.show_json()["values"]["root_module"], &mut out);
        out
    }

    /// `terraform import -no-color -input=false <address> <id>`, whatever the outcome.
    pub fn import_output(&self, address: &str, id: &str) -> Output {
        self.run(&["import", "-no-color", "-input=false", address, id])
    }

    /// `terraform destroy -no-color -input=false -auto-approve <extra>`, whatever the outcome.
    pub fn destroy_output(&self, extra: &[&str]) -> Output {
        self.run(&with_flags(&["destroy", "-no-color", "-input=false", "-auto-approve"], extra))
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        out.assert_success();
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("terraform printed invalid JSON ({e})\n{out}"))
    }
}

fn with_flags<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

/// `text` with every run of white space turned into one space, trimmed.
pub fn collapse_ws(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!("keeping the work directory of the failed test: {}", dir.keep().display());
            }
        }
    }
}

/// The 1-based number of the first line of `text` containing `needle`
/// (panics if none does): how tests say which line a diagnostic must point at.
#[track_caller]
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{text}"))
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
}

pub fn aws() -> &'static AwsClients {
    static CLIENTS: OnceLock<AwsClients> = OnceLock::new();
    CLIENTS.get_or_init(|| AwsClients::at(&test_env().endpoint, aws_config::retry::RetryConfig::standard()))
}

impl AwsClients {
    /// Clients for `endpoint` (LocalStack, or a [`proxy::Proxy`]) with this
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
        }
    }
}

/// AWS objects for the configurations under test to look up.
/// A table of tests: `name => case;` becomes `#[test] fn name()` calling the
/// invoking file's `check(stringify!(name), case)`; attributes before a name
/// (`#[ignore]`, a doc comment) go on its test.
#[macro_export]
macro_rules! cases {
    ($($(#[$attr:meta])* $name:ident => $case:expr;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check(stringify!($name), $case);
            }
        )*
    };
}

pub mod fixture {
    use super::*;
    use anyhow::{anyhow, Context, Result};
    use aws_sdk_elasticloadbalancingv2::types as elb;
    use aws_sdk_route53::error::DisplayErrorContext;
    use aws_sdk_route53::types as r53;

    /// Turns an SDK error into one with the whole error chain in its text
    /// (an SDK error's own Display is just "service error").
    fn sdk<T, E: std::error::Error>(what: &str, r: std::result::Result<T, E>) -> Result<T> {
        r.map_err(|e| anyhow!("{what}: {}", DisplayErrorContext(&e)))
    }

    /// A weighted record set of the fixture: A records with a TTL.
    #[derive(Debug, Clone)]
    pub struct WeightedSet {
        pub set_identifier: String,
        pub weight: i64,
        pub ttl: i64,
        pub records: Vec<String>,
    }

    /// The legacy stack of a cutover, as a test sees it.
    #[derive(Debug, Clone)]
    pub struct LegacyStack {
        pub suffix: String,
        pub vpc_id: String,
        pub subnet_ids: Vec<String>,
        pub lb_name: String,
        pub lb_arn: String,
        pub lb_dns_name: String,
        /// The load balancer's canonical hosted zone id (alias targets use it).
        pub lb_zone_id: String,
        pub lb_scheme: String,
        /// The HTTP:80 listener, forwarding to `tg_arn`.
        pub listener_arn: String,
        pub listener_port: i32,
        /// Target group with two registered (healthy) targets.
        pub tg_name: String,
        pub tg_arn: String,
        pub tg_port: i32,
        pub target_ids: Vec<String>,
        /// Target group with no targets.
        pub empty_tg_name: String,
        pub empty_tg_arn: String,
        /// The public hosted zone `<suffix>.example.com` (no trailing dot).
        pub zone_name: String,
        /// Its bare id (`Z…`, without `/hostedzone/`).
        pub zone_id: String,
        /// Record sets in the zone once the fixture is complete, as Route 53 counts them.
        pub zone_record_count: i64,
        /// `api.<zone>`: a simple A alias to the load balancer, evaluate_target_health = true.
        pub alias_record_name: String,
        /// `app.<zone>`: two weighted A record sets.
        pub weighted_name: String,
        pub weighted: Vec<WeightedSet>,
    }

    /// A VPC with two subnets, an internet-facing ALB with an HTTP:80
    /// listener forwarding to a target group with two registered targets
    /// (healthy at once in LocalStack), an empty target group, and a public
    /// hosted zone `<suffix>.example.com` holding `api.` (simple alias to
    /// the ALB) and `app.` (a weighted pair). Panics on failure.
    pub fn legacy_stack(suffix: &str) -> LegacyStack {
        block_on(create_legacy_stack(aws(), suffix)).unwrap_or_else(|e| panic!("creating the legacy stack fixture {suffix}: {e:#}"))
    }

    /// A further HTTP listener on the stack's ALB at `port`, forwarding to its target group, so that a test's rules
    /// never meet another's. Returns its ARN. Panics on failure.
    pub fn extra_listener(stack: &LegacyStack, port: i32) -> String {
        block_on(async {
            let forward = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&stack.tg_arn).build();
            let out = sdk(
                "CreateListener",
                aws()
                    .elbv2
                    .create_listener()
                    .load_balancer_arn(&stack.lb_arn)
                    .protocol(elb::ProtocolEnum::Http)
                    .port(port)
                    .default_actions(forward)
                    .send()
                    .await,
            )?;
            out.listeners().first().and_then(|l| l.listener_arn()).map(str::to_string).context("CreateListener returned no ARN")
        })
        .unwrap_or_else(|e| panic!("creating a listener on port {port} of {}: {e:#}", stack.suffix))
    }

    /// A "green" target group `green-<suffix>` (HTTP:8080, instance
    /// targets) in the stack's VPC, with `targets` registered (healthy at
    /// once in LocalStack). Returns its ARN. Panics on failure.
    pub fn green_target_group(stack: &LegacyStack, targets: &[String]) -> String {
        block_on(async {
            let c = &aws().elbv2;
            let out = sdk(
                "CreateTargetGroup",
                c.create_target_group()
                    .name(format!("green-{}", stack.suffix))
                    .protocol(elb::ProtocolEnum::Http)
                    .port(8080)
                    .vpc_id(&stack.vpc_id)
                    .target_type(elb::TargetTypeEnum::Instance)
                    .send()
                    .await,
            )?;
            let arn =
                out.target_groups().first().and_then(|t| t.target_group_arn()).context("CreateTargetGroup returned no ARN")?.to_string();
            let targets = targets.iter().map(|id| elb::TargetDescription::builder().id(id).port(8080).build()).collect();
            sdk("RegisterTargets", c.register_targets().target_group_arn(&arn).set_targets(Some(targets)).send().await)?;
            Ok::<_, anyhow::Error>(arn)
        })
        .unwrap_or_else(|e| panic!("creating the green target group of {}: {e:#}", stack.suffix))
    }

    /// Just a public hosted zone `<suffix>.example.com`; returns its bare id.
    pub fn hosted_zone(suffix: &str) -> (String, String) {
        let name = format!("{suffix}.example.com");
        let id = block_on(create_zone(aws(), &name)).unwrap_or_else(|e| panic!("creating hosted zone {name}: {e:#}"));
        (name, id)
    }

    async fn create_zone(c: &AwsClients, name: &str) -> Result<String> {
        let out = sdk(
            "CreateHostedZone",
            c.route53.create_hosted_zone().name(name).caller_reference(format!("acc-{name}-{}", unique_suffix(""))).send().await,
        )?;
        let id = out.hosted_zone().map(|z| z.id().to_string()).context("CreateHostedZone returned no zone")?;
        Ok(id.rsplit('/').next().unwrap_or(&id).to_string())
    }

    async fn create_legacy_stack(c: &AwsClients, suffix: &str) -> Result<LegacyStack> {
        // Network: the ALB needs two subnets in different AZs of one VPC.
        let vpc = sdk("CreateVpc", c.ec2.create_vpc().cidr_block("10.0.0.0/16").send().await)?;
        let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).context("CreateVpc returned no id")?.to_string();
        let mut subnet_ids = Vec::new();
        for (i, az) in ["a", "b"].iter().enumerate() {
            let s = sdk(
                "CreateSubnet",
                c.ec2
                    .create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(format!("10.0.{}.0/24", i + 1))
                    .availability_zone(format!("{REGION}{az}"))
                    .send()
                    .await,
            )?;
            subnet_ids.push(s.subnet().and_then(|s| s.subnet_id()).context("CreateSubnet returned no id")?.to_string());
        }

        // Load balancer, target groups, listener.
        let lb_name = format!("legacy-{suffix}");
        let lbs = sdk(
            "CreateLoadBalancer",
            c.elbv2
                .create_load_balancer()
                .name(&lb_name)
                .set_subnets(Some(subnet_ids.clone()))
                .r#type(elb::LoadBalancerTypeEnum::Application)
                .scheme(elb::LoadBalancerSchemeEnum::InternetFacing)
                .send()
                .await,
        )?;
        let lb = lbs.load_balancers().first().context("CreateLoadBalancer returned no load balancer")?;
        let lb_arn = lb.load_balancer_arn().context("no LB arn")?.to_string();
        let lb_dns_name = lb.dns_name().context("no LB dns name")?.to_string();
        let lb_zone_id = lb.canonical_hosted_zone_id().context("no LB canonical hosted zone id")?.to_string();
        let lb_scheme = lb.scheme().context("no LB scheme")?.as_str().to_string();

        let tg_port = 8080;
        let create_tg = |name: String| {
            let req = c
                .elbv2
                .create_target_group()
                .name(name)
                .protocol(elb::ProtocolEnum::Http)
                .port(tg_port)
                .vpc_id(&vpc_id)
                .target_type(elb::TargetTypeEnum::Instance);
            async move {
                let out = sdk("CreateTargetGroup", req.send().await)?;
                out.target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .map(str::to_string)
                    .context("CreateTargetGroup returned no arn")
            }
        };
        let tg_name = format!("live-{suffix}");
        let tg_arn = create_tg(tg_name.clone()).await?;
        let empty_tg_name = format!("empty-{suffix}");
        let empty_tg_arn = create_tg(empty_tg_name.clone()).await?;

        // RegisterTargets does not check that the instances exist; LocalStack reports them healthy.
        let target_ids = vec!["i-0a1b2c3d4e5f60001".to_string(), "i-0a1b2c3d4e5f60002".to_string()];
        let targets = target_ids.iter().map(|id| elb::TargetDescription::builder().id(id).port(tg_port).build()).collect();
        sdk("RegisterTargets", c.elbv2.register_targets().target_group_arn(&tg_arn).set_targets(Some(targets)).send().await)?;

        let listener_port = 80;
        let forward = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg_arn).build();
        let listeners = sdk(
            "CreateListener",
            c.elbv2
                .create_listener()
                .load_balancer_arn(&lb_arn)
                .protocol(elb::ProtocolEnum::Http)
                .port(listener_port)
                .default_actions(forward)
                .send()
                .await,
        )?;
        let listener_arn =
            listeners.listeners().first().and_then(|l| l.listener_arn()).context("CreateListener returned no arn")?.to_string();

        // DNS: the zone, the simple alias and the weighted pair.
        let zone_name = format!("{suffix}.example.com");
        let zone_id = create_zone(c, &zone_name).await?;
        let alias_record_name = format!("api.{zone_name}");
        let weighted_name = format!("app.{zone_name}");
        // SetIdentifiers unique across the zone: LocalStack deletes by SetIdentifier alone.
        let weighted = vec![
            WeightedSet { set_identifier: format!("blue-{suffix}"), weight: 90, ttl: 60, records: vec!["10.0.1.10".into()] },
            WeightedSet {
                set_identifier: format!("green-{suffix}"),
                weight: 10,
                ttl: 30,
                records: vec!["10.0.2.20".into(), "10.0.2.21".into()],
            },
        ];
        let mut changes = vec![r53::Change::builder()
            .action(r53::ChangeAction::Create)
            .resource_record_set(
                r53::ResourceRecordSet::builder()
                    .name(&alias_record_name)
                    .r#type(r53::RrType::A)
                    .alias_target(
                        r53::AliasTarget::builder()
                            .dns_name(&lb_dns_name)
                            .hosted_zone_id(&lb_zone_id)
                            .evaluate_target_health(true)
                            .build()?,
                    )
                    .build()?,
            )
            .build()?];
        for w in &weighted {
            let records =
                w.records.iter().map(|v| r53::ResourceRecord::builder().value(v).build()).collect::<std::result::Result<Vec<_>, _>>()?;
            changes.push(
                r53::Change::builder()
                    .action(r53::ChangeAction::Create)
                    .resource_record_set(
                        r53::ResourceRecordSet::builder()
                            .name(&weighted_name)
                            .r#type(r53::RrType::A)
                            .set_identifier(&w.set_identifier)
                            .weight(w.weight)
                            .ttl(w.ttl)
                            .set_resource_records(Some(records))
                            .build()?,
                    )
                    .build()?,
            );
        }
        sdk(
            "ChangeResourceRecordSets",
            c.route53
                .change_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .change_batch(r53::ChangeBatch::builder().set_changes(Some(changes)).build()?)
                .send()
                .await,
        )?;
        let zone = sdk("GetHostedZone", c.route53.get_hosted_zone().id(&zone_id).send().await)?;
        let zone_record_count = zone.hosted_zone().and_then(|z| z.resource_record_set_count()).context("GetHostedZone: no record count")?;

        Ok(LegacyStack {
            suffix: suffix.to_string(),
            vpc_id,
            subnet_ids,
            lb_name,
            lb_arn,
            lb_dns_name,
            lb_zone_id,
            lb_scheme,
            listener_arn,
            listener_port,
            tg_name,
            tg_arn,
            tg_port,
            target_ids,
            empty_tg_name,
            empty_tg_arn,
            zone_name,
            zone_id,
            zone_record_count,
            alias_record_name,
            weighted_name,
            weighted,
        })
    }

    // ---- Route 53 records, as the switch tests see and disturb them ----

    /// One read of a name by a [`NamePoller`], `at` after it started.
    #[derive(Debug, Clone)]
    pub struct Poll {
        pub at: std::time::Duration,
        /// `Err` when the call failed (that is not an observation of no records).
        pub sets: std::result::Result<Vec<RecordView>, String>,
    }

    /// Reads one name from LocalStack (directly, not through a proxy) on a
    /// thread and a runtime of its own, so the polls do not queue behind
    /// other SDK calls, until stopped: to check a name answers throughout
    /// an apply.
    pub struct NamePoller {
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        started: std::time::Instant,
        handle: Option<std::thread::JoinHandle<Vec<Poll>>>,
    }

    impl NamePoller {
        /// Starts reading `name`, pausing `pause` between reads (none: as
        /// fast as one thread can).
        pub fn start(zone_id: &str, name: &str, pause: std::time::Duration) -> NamePoller {
            use std::sync::atomic::{AtomicBool, Ordering};
            let stop = std::sync::Arc::new(AtomicBool::new(false));
            let started = std::time::Instant::now();
            let (flag, zone_id, name) = (stop.clone(), zone_id.to_string(), name.to_string());
            let handle = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
                let mut polls = Vec::new();
                while !flag.load(Ordering::Relaxed) {
                    let sets = rt
                        .block_on(raw_record_sets(&zone_id, &name))
                        .map(|v| v.iter().map(RecordView::from_sdk).collect())
                        .map_err(|e| format!("{e:#}"));
                    polls.push(Poll { at: started.elapsed(), sets });
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                }
                polls
            });
            NamePoller { stop, started, handle: Some(handle) }
        }

        /// Time since the poller started (the clock of [`Poll::at`]).
        pub fn elapsed(&self) -> std::time::Duration {
            self.started.elapsed()
        }

        /// Stops, and returns every poll in order.
        pub fn stop(mut self) -> Vec<Poll> {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            self.handle.take().expect("running").join().expect("poller thread")
        }
    }

    impl Drop for NamePoller {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
    }

    /// One record set as a test compares it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecordView {
        /// As Route 53 returns it (trailing dot).
        pub name: String,
        pub record_type: String,
        pub set_identifier: Option<String>,
        pub weight: Option<i64>,
        pub ttl: Option<i64>,
        pub values: Vec<String>,
        pub alias: Option<AliasView>,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AliasView {
        pub dns_name: String,
        pub hosted_zone_id: String,
        pub evaluate_target_health: bool,
    }

    impl RecordView {
        pub fn from_sdk(r: &r53::ResourceRecordSet) -> RecordView {
            RecordView {
                name: r.name().to_string(),
                record_type: r.r#type().as_str().to_string(),
                set_identifier: r.set_identifier().map(str::to_string),
                weight: r.weight(),
                ttl: r.ttl(),
                values: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
                alias: r.alias_target().map(|a| AliasView {
                    dns_name: a.dns_name().to_string(),
                    hosted_zone_id: a.hosted_zone_id().to_string(),
                    evaluate_target_health: a.evaluate_target_health(),
                }),
            }
        }
    }

    /// `name` lower-cased with a trailing dot, as Route 53 (LocalStack) returns it.
    pub fn fqdn(name: &str) -> String {
        format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
    }

    /// Every record set of `name` (any type) in the zone, in Route 53's
    /// order, as the SDK returns them: one ListResourceRecordSets call.
    pub async fn raw_record_sets(zone_id: &str, name: &str) -> Result<Vec<r53::ResourceRecordSet>> {
        let want = fqdn(name);
        let out = sdk(
            "ListResourceRecordSets",
            aws().route53.list_resource_record_sets().hosted_zone_id(zone_id).start_record_name(&want).max_items(300).send().await,
        )?;
        Ok(out.resource_record_sets().iter().filter(|r| r.name().eq_ignore_ascii_case(&want)).cloned().collect())
    }

    /// Every record set of `name` (any type) in the zone. Panics on failure.
    pub fn record_sets(zone_id: &str, name: &str) -> Vec<RecordView> {
        block_on(raw_record_sets(zone_id, name))
            .unwrap_or_else(|e| panic!("listing {name} in {zone_id}: {e:#}"))
            .iter()
            .map(RecordView::from_sdk)
            .collect()
    }

    /// `(set_identifier, weight)` of every weighted record set of `name`, sorted by identifier.
    pub fn weights(zone_id: &str, name: &str) -> Vec<(String, i64)> {
        let mut w: Vec<(String, i64)> =
            record_sets(zone_id, name).into_iter().filter_map(|r| Some((r.set_identifier?, r.weight.unwrap_or(-1)))).collect();
        w.sort();
        w
    }

    /// Submits one ChangeResourceRecordSets batch. Panics on failure.
    pub fn change_record_sets(zone_id: &str, changes: Vec<(r53::ChangeAction, r53::ResourceRecordSet)>) {
        let f = async {
            let changes = changes
                .into_iter()
                .map(|(action, rrs)| r53::Change::builder().action(action).resource_record_set(rrs).build())
                .collect::<std::result::Result<Vec<_>, _>>()?;
            sdk(
                "ChangeResourceRecordSets",
                aws()
                    .route53
                    .change_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .change_batch(r53::ChangeBatch::builder().set_changes(Some(changes)).build()?)
                    .send()
                    .await,
            )?;
            Ok::<_, anyhow::Error>(())
        };
        block_on(f).unwrap_or_else(|e| panic!("changing record sets in {zone_id}: {e:#}"));
    }

    /// Creates a simple (not weighted) A alias record `name` → `dns_name`.
    pub fn simple_alias_record(zone_id: &str, name: &str, dns_name: &str, target_zone_id: &str, evaluate_target_health: bool) {
        let rrs = r53::ResourceRecordSet::builder()
            .name(fqdn(name))
            .r#type(r53::RrType::A)
            .alias_target(
                r53::AliasTarget::builder()
                    .dns_name(dns_name)
                    .hosted_zone_id(target_zone_id)
                    .evaluate_target_health(evaluate_target_health)
                    .build()
                    .expect("alias target"),
            )
            .build()
            .expect("record set");
        change_record_sets(zone_id, vec![(r53::ChangeAction::Create, rrs)]);
    }

    fn weighted_set(zone_id: &str, name: &str, set_identifier: &str) -> r53::ResourceRecordSet {
        let all = block_on(raw_record_sets(zone_id, name)).unwrap_or_else(|e| panic!("listing {name}: {e:#}"));
        all.into_iter()
            .find(|r| r.set_identifier() == Some(set_identifier))
            .unwrap_or_else(|| panic!("{name} has no record set with set identifier {set_identifier:?} in zone {zone_id}"))
    }

    /// Out-of-band weight changes: UPSERTs the named weighted sets of
    /// `name` with new weights (targets unchanged), in one batch.
    pub fn set_weights(zone_id: &str, name: &str, weights: &[(&str, i64)]) {
        let changes = weights
            .iter()
            .map(|(id, w)| {
                let mut rrs = weighted_set(zone_id, name, id);
                rrs.weight = Some(*w);
                (r53::ChangeAction::Upsert, rrs)
            })
            .collect();
        change_record_sets(zone_id, changes);
    }

    /// Out-of-band deletion of weighted sets of `name`, in one batch. (In
    /// LocalStack this deletes every record of the zone with that identifier.)
    pub fn delete_weighted(zone_id: &str, name: &str, set_identifiers: &[&str]) {
        let changes = set_identifiers.iter().map(|id| (r53::ChangeAction::Delete, weighted_set(zone_id, name, id))).collect();
        change_record_sets(zone_id, changes);
    }
}

/// A tiny HTTP server on 127.0.0.1 for health-gate checks: it answers the
/// n-th request with `script[n]`, and every request after the script with
/// `then`. Stops when dropped.
pub struct StatusServer {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    then: std::sync::Arc<std::sync::atomic::AtomicU16>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl StatusServer {
    pub fn start(script: &[u16], then: u16) -> StatusServer {
        use std::io::Write;
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let then = Arc::new(std::sync::atomic::AtomicU16::new(then));
        let (reqs, stopping, script, after) = (requests.clone(), stop.clone(), script.to_vec(), then.clone());
        let handle = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let mut conn = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => continue,
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let n = {
                    let mut r = reqs.lock().expect("requests lock");
                    r.push(String::from_utf8_lossy(&buf).into_owned());
                    r.len() - 1
                };
                let code = script.get(n).copied().unwrap_or_else(|| after.load(Ordering::Relaxed));
                let reason = if code == 200 { "OK" } else { "Status" };
                let _ = conn.write_all(format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
            }
        });
        StatusServer { port, requests, then, stop, handle: Some(handle) }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// From now on, answer every request beyond the script with `code`.
    pub fn answer_from_now_on(&self, code: u16) {
        self.then.store(code, Ordering::Relaxed);
    }

    /// The requests received so far, as sent (request line and headers).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim from terraform 1.0.3 (`plan -no-color`, stderr).
    const TF_ERRORS: &str = "
Error: Missing load_balancer_arn

  with data.bluegreen_listener.l,
  on main.tf line 9, in data \"bluegreen_listener\" \"l\":
   9: data \"bluegreen_listener\" \"l\" {

port selects a listener of the load balancer named by load_balancer_arn; set
it too.

Error: Invalid port

  with data.bluegreen_listener.l,
  on main.tf line 10, in data \"bluegreen_listener\" \"l\":
  10:   port = 70000

port must be between 1 and 65535, got 70000.
";

    #[test]
    fn parses_terraform_diagnostics() {
        let d = Diagnostic::parse(TF_ERRORS);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!(d[0].summary, "Missing load_balancer_arn");
        assert_eq!(d[0].subject(), Some(("main.tf".to_string(), 9)));
        assert_eq!(d[0].detail(), "port selects a listener of the load balancer named by load_balancer_arn; set it too.");
        assert_eq!(d[1].subject(), Some(("main.tf".to_string(), 10)));
        assert!(d[1].body.contains("10:   port = 70000"));
        assert_eq!(d[1].detail(), "port must be between 1 and 65535, got 70000.");
    }

    #[test]
    fn diagnostics_without_a_source_pointer() {
        let d = Diagnostic::parse(
            "Warning: Provider development overrides are in effect\n\nThe following provider development overrides are set\n",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].subject(), None);
        assert_eq!(d[0].detail(), "The following provider development overrides are set");
    }

    #[test]
    fn suffixes_are_unique_and_fit_aws_names() {
        let all: std::collections::BTreeSet<String> = (0..1000).map(|_| unique_suffix("ds")).collect();
        assert_eq!(all.len(), 1000);
        for s in &all {
            assert_eq!(s.len(), 10);
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{s}");
        }
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_of("a\nb = 1\nc\n", "b ="), 2);
    }
}
