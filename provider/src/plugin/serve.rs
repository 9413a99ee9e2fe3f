//! The go-plugin side of a provider process: the handshake with Terraform,
//! the listener, AutoMTLS, and the helper services Terraform expects next to
//! `tfplugin6.Provider` (controller, stdio, broker, health).

use std::io::Write;
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::sync::watch;
#[cfg(unix)]
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::Server;
use tonic::{Request, Response, Status, Streaming};

use super::tls::{self, ServerIdentity};
use crate::proto::plugin as gp;
use crate::proto::plugin::grpc_broker_server::{GrpcBroker, GrpcBrokerServer};
use crate::proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use crate::proto::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use crate::proto::tfplugin6::provider_server::ProviderServer;
use crate::proto::BoxStream;
use crate::server::BlueGreenProvider;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version (the first handshake field).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol this provider speaks.
pub const APP_PROTOCOL_VERSION: u32 = 6;
/// terraform-plugin-go's limit; plans of large configurations can be big.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/cutover/bluegreen";

/// What Terraform told us through the environment.
#[derive(Debug, Clone, Default)]
pub struct PluginEnv {
    pub magic_cookie: Option<String>,
    pub protocol_versions: Option<String>,
    pub min_port: Option<String>,
    pub max_port: Option<String>,
    pub client_cert: Option<String>,
    pub disable_tls: bool,
    pub unix_socket_dir: Option<String>,
    /// `tcp` to listen on loopback TCP instead of a Unix socket.
    pub transport: Option<String>,
}

impl PluginEnv {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            magic_cookie: get(MAGIC_COOKIE_KEY),
            protocol_versions: get("PLUGIN_PROTOCOL_VERSIONS"),
            min_port: get("PLUGIN_MIN_PORT"),
            max_port: get("PLUGIN_MAX_PORT"),
            client_cert: get(tls::CLIENT_CERT_ENV).filter(|c| !c.trim().is_empty()),
            disable_tls: get("TF_DISABLE_PLUGIN_TLS").is_some_and(|v| !v.is_empty()),
            unix_socket_dir: get("PLUGIN_UNIX_SOCKET_DIR").filter(|d| !d.is_empty()),
            transport: get("BLUEGREEN_PLUGIN_TRANSPORT").filter(|t| !t.is_empty()),
        }
    }
}

/// Why this process will not serve.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "This binary is a plugin for Terraform (provider cutover/bluegreen). It is not meant to be run directly.\n\
         Put it where Terraform finds providers (see the README: `make install`, or dev_overrides) and run `terraform` instead.\n\
         To debug it, run it with --debug and follow the printed TF_REATTACH_PROVIDERS instructions."
    )]
    NotLaunchedByTerraform,
    #[error("Terraform offered plugin protocol version(s) {offered:?}, but this provider speaks only version 6. Use Terraform 1.0 or newer (or OpenTofu).")]
    NoCommonProtocol { offered: String },
}

/// Checks the magic cookie and negotiates the protocol version.
pub fn negotiate(env: &PluginEnv) -> Result<u32, HandshakeError> {
    if env.magic_cookie.as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotLaunchedByTerraform);
    }
    // Older go-plugin clients send no list and mean "the client's default".
    let Some(offered) = env.protocol_versions.as_deref().filter(|v| !v.trim().is_empty()) else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    if offered.split(',').any(|v| v.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION)) {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::NoCommonProtocol { offered: offered.to_string() })
    }
}

/// The line Terraform reads from our stdout.
pub fn handshake_line(network: &str, addr: &str, cert: Option<&str>) -> String {
    format!("{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{network}|{addr}|grpc|{}", cert.unwrap_or(""))
}

/// A bound listener, and what to tell Terraform about it.
pub struct Bound {
    listener: AnyListener,
    network: &'static str,
    address: String,
    /// The socket file and its private directory, removed after serving.
    unix_paths: Option<(PathBuf, PathBuf)>,
}

enum AnyListener {
    #[cfg(unix)]
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Bound {
    pub fn network(&self) -> &'static str {
        self.network
    }

    pub fn address(&self) -> String {
        self.address.clone()
    }
}

/// Removes the socket file and directory when serving ends, however it ends.
struct CleanupPaths(Option<(PathBuf, PathBuf)>);

impl Drop for CleanupPaths {
    fn drop(&mut self) {
        if let Some((path, dir)) = &self.0 {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds a Unix socket in a fresh private directory (go-plugin's default on
/// Unix), or a loopback TCP port within Terraform's range (always on Windows,
/// as go-plugin does there).
pub async fn bind(env: &PluginEnv) -> Result<Bound> {
    #[cfg(unix)]
    if env.transport.as_deref() != Some("tcp") {
        return bind_unix(env);
    }
    let min: u16 = env.min_port.as_deref().unwrap_or("10000").parse().context("PLUGIN_MIN_PORT")?;
    let max: u16 = env.max_port.as_deref().unwrap_or("25000").parse().context("PLUGIN_MAX_PORT")?;
    if min > max {
        bail!("PLUGIN_MIN_PORT {min} is above PLUGIN_MAX_PORT {max}");
    }
    for port in min..=max {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            let address = listener.local_addr()?.to_string();
            return Ok(Bound { listener: AnyListener::Tcp(listener), network: "tcp", address, unix_paths: None });
        }
    }
    bail!("no free TCP port between {min} and {max} on 127.0.0.1");
}

#[cfg(unix)]
fn bind_unix(env: &PluginEnv) -> Result<Bound> {
    let base = env.unix_socket_dir.as_ref().map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = make_private_dir(&base)?;
    let path = dir.join("plugin.sock");
    let listener = UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    Ok(Bound { listener: AnyListener::Unix(listener), network: "unix", address: path.display().to_string(), unix_paths: Some((path, dir)) })
}

#[cfg(unix)]
fn make_private_dir(base: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = base.join(format!("plugin-bluegreen-{pid}-{nanos:x}-{attempt}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating a socket directory in {}", base.display())),
        }
    }
    bail!("could not create a private socket directory in {}", base.display())
}

/// Signals the end of serving: Shutdown RPC, or Ctrl-C in debug mode.
#[derive(Clone)]
pub struct ShutdownSignal(watch::Sender<bool>);

impl ShutdownSignal {
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }
}

impl Default for ShutdownSignal {
    fn default() -> Self {
        Self::new()
    }
}

struct Controller {
    shutdown: ShutdownSignal,
    ignore_shutdown: bool,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _req: Request<gp::Empty>) -> Result<Response<gp::Empty>, Status> {
        if self.ignore_shutdown {
            tracing::info!("Shutdown received in debug mode: still serving until Ctrl-C");
        } else {
            tracing::debug!("Shutdown received: exiting");
            self.shutdown.trigger();
        }
        Ok(Response::new(gp::Empty {}))
    }
}

/// We write logs to stderr directly (go-plugin forwards it), so the stdio
/// stream carries nothing; it stays open until shutdown so the client does
/// not see a premature EOF.
struct Stdio {
    shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    async fn stream_stdio(&self, _req: Request<()>) -> Result<Response<BoxStream<gp::StdioData>>, Status> {
        let shutdown = self.shutdown.clone();
        let s = futures::stream::pending::<Result<gp::StdioData, Status>>().take_until(Box::pin(async move { shutdown.wait().await }));
        Ok(Response::new(Box::pin(s)))
    }
}

/// Terraform never brokers extra connections to providers; the stream is
/// accepted and drained so a client that opens it sees no error.
struct Broker {
    shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    async fn start_stream(&self, req: Request<Streaming<gp::ConnInfo>>) -> Result<Response<BoxStream<gp::ConnInfo>>, Status> {
        let mut incoming = req.into_inner();
        let shutdown = self.shutdown.clone();
        let done = async move {
            tokio::select! {
                _ = async { while let Some(Ok(_)) = incoming.next().await {} } => {}
                _ = shutdown.wait() => {}
            }
        };
        let s = futures::stream::pending::<Result<gp::ConnInfo, Status>>().take_until(Box::pin(done));
        Ok(Response::new(Box::pin(s)))
    }
}

pub struct ServeOptions {
    /// mTLS configuration; `None` serves plaintext.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Debug mode keeps serving across Terraform runs until Ctrl-C.
    pub debug: bool,
}

/// Serves every service on `bound` until shutdown.
pub async fn serve(provider: BlueGreenProvider, bound: Bound, opts: ServeOptions, shutdown: ShutdownSignal) -> Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;

    let router = Server::builder()
        .add_service(
            ProviderServer::new(provider).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(GrpcControllerServer::new(Controller { shutdown: shutdown.clone(), ignore_shutdown: opts.debug }))
        .add_service(GrpcStdioServer::new(Stdio { shutdown: shutdown.clone() }))
        .add_service(GrpcBrokerServer::new(Broker { shutdown: shutdown.clone() }))
        .add_service(health_service);

    let stop = async move { shutdown.wait().await };
    let _cleanup = CleanupPaths(bound.unix_paths);
    let result = match (bound.listener, opts.tls) {
        #[cfg(unix)]
        (AnyListener::Unix(l), Some(cfg)) => {
            let conns = UnixListenerStream::new(l);
            router.serve_with_incoming_shutdown(tls::tls_incoming(conns, cfg, tls::DEFAULT_HANDSHAKE_TIMEOUT), stop).await
        }
        #[cfg(unix)]
        (AnyListener::Unix(l), None) => router.serve_with_incoming_shutdown(UnixListenerStream::new(l), stop).await,
        (AnyListener::Tcp(l), Some(cfg)) => {
            let conns = tls::tcp_incoming(l);
            router.serve_with_incoming_shutdown(tls::tls_incoming(conns, cfg, tls::DEFAULT_HANDSHAKE_TIMEOUT), stop).await
        }
        (AnyListener::Tcp(l), None) => router.serve_with_incoming_shutdown(tls::tcp_incoming(l), stop).await,
    };
    result.context("serving gRPC")
}

/// Runs a provider process the way Terraform launches it. Returns the exit code.
pub async fn run_plugin(env: PluginEnv) -> Result<()> {
    let identity;
    let tls = if env.disable_tls {
        None
    } else if let Some(pem) = &env.client_cert {
        identity = ServerIdentity::generate()?;
        Some((tls::server_config(&identity, pem)?, identity.handshake_cert()))
    } else {
        tracing::warn!("PLUGIN_CLIENT_CERT is not set: serving without TLS");
        None
    };
    let bound = bind(&env).await?;
    // Before the handshake: from then on Terraform's Ctrl-C may arrive.
    ignore_interrupts()?;
    let line = handshake_line(bound.network(), &bound.address(), tls.as_ref().map(|(_, c)| c.as_str()));
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    let shutdown = ShutdownSignal::new();
    serve(BlueGreenProvider::new(), bound, ServeOptions { tls: tls.map(|(c, _)| c), debug: false }, shutdown).await
}

/// Terraform's Ctrl-C reaches the whole process group as SIGINT (on Windows,
/// every process of the console as a Ctrl-C event); the provider must keep
/// running and wait for StopProvider, as go-plugin servers do.
fn ignore_interrupts() -> Result<()> {
    let mut sig = interrupts()?;
    tokio::spawn(async move {
        while sig.recv().await.is_some() {
            tracing::debug!("SIGINT received: ignored; Terraform sends StopProvider to stop work");
        }
    });
    Ok(())
}

/// `--debug`: serve plaintext and print how to attach Terraform.
pub async fn run_debug() -> Result<()> {
    let env = PluginEnv::from_env(|k| std::env::var(k).ok());
    let bound = bind(&env).await?;
    let reattach = serde_json::json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": APP_PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": bound.network(), "String": bound.address() }
        }
    });
    // The handler is in place before anyone can read the line and press Ctrl-C.
    let mut ctrl_c = interrupts()?;
    println!("Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n");
    println!("\tTF_REATTACH_PROVIDERS='{reattach}'\n");
    let _ = std::io::stdout().flush();
    let shutdown = ShutdownSignal::new();
    let on_ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        let _ = ctrl_c.recv().await;
        on_ctrl_c.trigger();
    });
    serve(BlueGreenProvider::new(), bound, ServeOptions { tls: None, debug: true }, shutdown).await
}

/// A stream of SIGINTs (Ctrl-C events on Windows); while it lives, they do not
/// end the process.
#[cfg(unix)]
fn interrupts() -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).context("installing the SIGINT handler")
}

#[cfg(windows)]
fn interrupts() -> Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c().context("installing the Ctrl-C handler")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(cookie: Option<&str>, versions: Option<&str>) -> PluginEnv {
        PluginEnv { magic_cookie: cookie.map(str::to_string), protocol_versions: versions.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn cookie_is_required() {
        assert!(matches!(negotiate(&env(None, Some("6"))), Err(HandshakeError::NotLaunchedByTerraform)));
        assert!(matches!(negotiate(&env(Some("nope"), Some("6"))), Err(HandshakeError::NotLaunchedByTerraform)));
    }

    #[test]
    fn version_six_is_picked_in_any_order() {
        for v in ["5,6", "6,5", "6", " 5 , 6 "] {
            assert_eq!(negotiate(&env(Some(MAGIC_COOKIE_VALUE), Some(v))).unwrap(), 6, "{v}");
        }
        assert!(matches!(negotiate(&env(Some(MAGIC_COOKIE_VALUE), Some("4,5"))), Err(HandshakeError::NoCommonProtocol { .. })));
    }

    #[test]
    fn handshake_line_has_six_fields() {
        let l = handshake_line("unix", "/tmp/x/plugin.sock", Some("QUJD"));
        assert_eq!(l, "1|6|unix|/tmp/x/plugin.sock|grpc|QUJD");
        assert_eq!(handshake_line("tcp", "127.0.0.1:10000", None).split('|').count(), 6);
    }

    #[tokio::test]
    async fn tcp_binds_within_the_port_range() {
        let e = PluginEnv {
            transport: Some("tcp".into()),
            min_port: Some("20000".into()),
            max_port: Some("20100".into()),
            ..Default::default()
        };
        let b = bind(&e).await.unwrap();
        let port: u16 = b.address().rsplit(':').next().unwrap().parse().unwrap();
        assert!((20000..=20100).contains(&port));
        assert!(b.address().starts_with("127.0.0.1:"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_socket_lives_in_a_private_dir_and_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let e = PluginEnv { unix_socket_dir: Some(tmp.path().display().to_string()), ..Default::default() };
        let b = bind(&e).await.unwrap();
        let path = PathBuf::from(b.address());
        assert!(path.exists());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        drop(CleanupPaths(b.unix_paths));
        assert!(!path.exists());
        assert!(!path.parent().unwrap().exists());
    }
}
