//! [`Workdir`]: a temporary directory to run terraform in, with a clean environment.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use crate::diagnostics::assert_no_debug_dump;
use crate::{proxy, test_env, Output, TestEnv, COMMAND_TIMEOUT, PROVIDER_SOURCE, REGION};

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
    /// of LocalStack. Fixtures and [`crate::aws`] keep calling LocalStack directly.
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
        proxy.log_calls();
        self.with_endpoint(&proxy.endpoint())
    }

    /// The endpoint the provider is given: LocalStack, or the one set by [`Workdir::with_endpoint`].
    pub fn aws_endpoint(&self) -> &str {
        // With a call log asked for, through the process-wide recording proxy.
        self.aws_endpoint.as_deref().or_else(|| proxy::Proxy::recorder().map(proxy::Proxy::endpoint_str)).unwrap_or(&self.env.endpoint)
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

    /// `terraform <args>` in the directory, with the environment of
    /// [`Workdir::base_env`] plus `extra_env`, piped stdout and stderr, in a
    /// process group of its own (so a hung or signalled run can be ended with
    /// its providers).
    fn command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
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
        cmd
    }

    /// Runs `terraform <args>` with extra environment variables (which
    /// override the defaults, e.g. `TF_LOG` or other AWS credentials).
    /// Never panics on a failed command; panics only if terraform cannot be
    /// started or exceeds its timeout ([`COMMAND_TIMEOUT`] by default).
    pub fn run_with_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args, extra_env);
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
        let mut cmd = self.command(args, extra_env);
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

    /// `terraform plan -json -input=false <extra>` with extra environment
    /// variables, whatever the outcome: terraform streams JSON messages, and
    /// [`Output::diagnostics`] reads its diagnostics from them (no plan text:
    /// for asserting on the plan itself use [`Workdir::plan_output`]).
    pub fn plan_json_output(&self, extra: &[&str], extra_env: &[(&str, &str)]) -> Output {
        self.run_with_env(&with_flags(&["plan", "-no-color", "-json", "-input=false"], extra), extra_env)
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

    /// Panics unless `terraform plan -detailed-exitcode` exits 0 and says "No changes.".
    #[track_caller]
    pub fn assert_no_changes(&self) {
        let out = self.plan_output(&["-detailed-exitcode"]);
        assert_eq!(out.code(), Some(0), "expected an empty plan\n{out}");
        assert!(out.stdout.contains("No changes."), "{out}");
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

    /// `terraform validate -json`, whatever the outcome: diagnostics with
    /// their source ranges ([`Output::diagnostics`] reads the JSON).
    pub fn validate_json_output(&self) -> Output {
        self.run(&["validate", "-no-color", "-json"])
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

impl Drop for Workdir {
    fn drop(&mut self) {
        if thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!("keeping the work directory of the failed test: {}", dir.keep().display());
            }
        }
    }
}
