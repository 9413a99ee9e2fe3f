//! `terraform-provider-bluegreen`: started by Terraform, never by hand
//! (except with `--debug`).

use std::process::ExitCode;

use bluegreen_provider::logging;
use bluegreen_provider::plugin::serve::{negotiate, run_debug, run_plugin, PluginEnv};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("terraform-provider-bluegreen {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    let env = PluginEnv::from_env(|k| std::env::var(k).ok());
    if !debug {
        if let Err(e) = negotiate(&env) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    logging::init();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "terraform-provider-bluegreen starting");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-bluegreen: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if debug {
            run_debug().await
        } else {
            run_plugin(env).await
        }
    });
    // Don't wait for blocked tasks (a stuck AWS call) once Terraform said goodbye.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    // For `make bench` and anyone sizing a runner: the process's peak resident set.
    if let Some(kib) = peak_rss_kib() {
        tracing::info!(peak_rss_kib = kib, "provider exiting");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "provider failed");
            eprintln!("terraform-provider-bluegreen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// VmHWM from /proc/self/status (Linux); None elsewhere.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
