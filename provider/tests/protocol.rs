//! Protocol tests: the real provider binary, started the way Terraform starts
//! it, driven by an in-process gRPC client (the role Terraform plays).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bluegreen_provider::plugin::serve::MAGIC_COOKIE_VALUE;
use bluegreen_provider::plugin::tls::crypto_provider;
use bluegreen_provider::proto::plugin::grpc_controller_client::GrpcControllerClient;
use bluegreen_provider::proto::tfplugin6 as pb;
use bluegreen_provider::proto::tfplugin6::provider_client::ProviderClient;
use bluegreen_provider::value::{msgpack, Type, Value};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-bluegreen");

/// A certificate shaped like the one Terraform (go-plugin) makes for itself:
/// ECDSA P-521 / SHA-512, self-signed, CA=true, SAN localhost.
struct ClientCert {
    der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    pem: String,
}

fn terraform_like_cert() -> ClientCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).unwrap();
    ClientCert { der: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()), pem: cert.pem() }
}

struct Plugin {
    child: Child,
    network: String,
    addr: String,
    server_cert: Option<CertificateDer<'static>>,
    _dir: tempfile::TempDir,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with Terraform's environment and reads the handshake.
fn start(extra_env: &[(&str, &str)]) -> Plugin {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!((fields[0], fields[1], fields[4]), ("1", "6", "grpc"), "handshake line {line:?}");
    let server_cert = (!fields[5].is_empty()).then(|| {
        assert!(!fields[5].contains('='), "certificate must be base64 without padding");
        CertificateDer::from(base64::engine::general_purpose::STANDARD_NO_PAD.decode(fields[5]).unwrap())
    });
    Plugin { child, network: fields[2].to_string(), addr: fields[3].to_string(), server_cert, _dir: dir }
}

fn tls_config(server: &CertificateDer<'static>, client: Option<&ClientCert>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(server.clone()).unwrap();
    let builder =
        ClientConfig::builder_with_provider(crypto_provider()).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots);
    let mut config = match client {
        Some(c) => builder.with_client_auth_cert(vec![c.der.clone()], PrivateKeyDer::Pkcs8(c.key.clone_key())).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// A gRPC channel to the plugin: over its Unix socket or TCP port, with TLS
/// when `tls` is given.
async fn channel(p: &Plugin, tls: Option<Arc<ClientConfig>>) -> Result<Channel, tonic::transport::Error> {
    let network = p.network.clone();
    let addr = p.addr.clone();
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(tower::service_fn(move |_| {
            let (network, addr, tls) = (network.clone(), addr.clone(), tls.clone());
            async move {
                let io: Box<dyn IoStream> = if network == "unix" {
                    Box::new(UnixStream::connect(&addr).await?)
                } else {
                    Box::new(TcpStream::connect(&addr).await?)
                };
                let io: Box<dyn IoStream> = match tls {
                    Some(cfg) => Box::new(TlsConnector::from(cfg).connect(ServerName::try_from("localhost").unwrap(), io).await?),
                    None => io,
                };
                Ok::<_, std::io::Error>(TokioIo::new(io))
            }
        }))
        .await
}

trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> IoStream for T {}

async fn schema_call(ch: Channel) -> Result<pb::get_provider_schema::Response, tonic::Status> {
    ProviderClient::new(ch)
        .max_decoding_message_size(256 << 20)
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .map(|r| r.into_inner())
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn run_by_hand_explains_itself_and_exits_1() {
    let out = Command::new(BIN).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plugin for Terraform"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing may look like a handshake");
}

#[test]
fn no_common_protocol_version_exits_1() {
    let out = Command::new(BIN)
        .env_clear()
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("speaks only version 6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_serves_terraforms_cert_only_and_shutdown_exits() {
    let terraform = terraform_like_cert();
    let mut p = start(&[("PLUGIN_CLIENT_CERT", &terraform.pem)]);
    assert_eq!(p.network, "unix");
    let server_cert = p.server_cert.clone().expect("AutoMTLS: the handshake carries the server certificate");

    // With Terraform's certificate: served.
    let ch = channel(&p, Some(tls_config(&server_cert, Some(&terraform)))).await.unwrap();
    let schema = schema_call(ch.clone()).await.unwrap();
    let mut names: Vec<&String> = schema.data_source_schemas.keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bluegreen_hosted_zone",
            "bluegreen_listener",
            "bluegreen_load_balancer",
            "bluegreen_record",
            "bluegreen_records",
            "bluegreen_target_group"
        ]
    );
    assert!(schema.provider.is_some());

    // No certificate, or another certificate: refused.
    let stranger = terraform_like_cert();
    for (label, cfg) in [("no cert", tls_config(&server_cert, None)), ("other cert", tls_config(&server_cert, Some(&stranger)))] {
        let refused = match channel(&p, Some(cfg)).await {
            Err(_) => true,
            Ok(ch) => schema_call(ch).await.is_err(),
        };
        assert!(refused, "a client with {label} must be refused");
    }
    // Plaintext: refused too.
    let refused = match channel(&p, None).await {
        Err(_) => true,
        Ok(ch) => schema_call(ch).await.is_err(),
    };
    assert!(refused, "a plaintext client must be refused");

    // Health service reports `plugin` SERVING.
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let status = health.check(tonic_health::pb::HealthCheckRequest { service: "plugin".into() }).await.unwrap().into_inner().status;
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);

    // RPCs we do not implement answer Unimplemented (the provider has no functions); those it does, answer.
    let err = ProviderClient::new(ch.clone()).call_function(pb::call_function::Request::default()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    let ids = ProviderClient::new(ch.clone())
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .expect("resource identity is served")
        .into_inner();
    assert_eq!(ids.identity_schemas.len(), 3);

    // Shutdown: the process exits 0 and removes its socket.
    let socket = PathBuf::from(&p.addr);
    assert!(socket.exists());
    GrpcControllerClient::new(ch).shutdown(bluegreen_provider::proto::plugin::Empty {}).await.unwrap();
    let status = wait_exit(&mut p.child, Duration::from_secs(3)).expect("exits after Shutdown");
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "socket removed");
}

/// Presents Terraform's certificate with another key: what someone who read
/// `PLUGIN_CLIENT_CERT` (it is public: the process environment) could do.
#[derive(Debug)]
struct StolenCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for StolenCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[rustls::SignatureScheme]) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The pinned certificate alone is not enough: without its private key the
/// handshake signature fails and the client is refused; and refused or
/// aborted handshakes leave the server serving Terraform on new connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_terraforms_cert_without_its_key_and_keeps_serving() {
    let terraform = terraform_like_cert();
    let mut p = start(&[("PLUGIN_CLIENT_CERT", &terraform.pem)]);
    let server_cert = p.server_cert.clone().expect("AutoMTLS");

    let stranger = terraform_like_cert();
    let provider = crypto_provider();
    let key = provider.key_provider.load_private_key(PrivateKeyDer::Pkcs8(stranger.key.clone_key())).unwrap();
    let stolen = Arc::new(StolenCert(Arc::new(rustls::sign::CertifiedKey::new(vec![terraform.der.clone()], key))));
    let mut roots = RootCertStore::empty();
    roots.add(server_cert.clone()).unwrap();
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(stolen);
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let refused = match channel(&p, Some(Arc::new(cfg))).await {
        Err(_) => true,
        Ok(ch) => schema_call(ch).await.is_err(),
    };
    assert!(refused, "Terraform's certificate signed with another key must be refused");

    // A handshake abandoned half-way (connect, send nothing, hang up) does not wedge the listener either.
    drop(UnixStream::connect(&p.addr).await.unwrap());

    // Still serving Terraform, on a fresh connection.
    let ch = channel(&p, Some(tls_config(&server_cert, Some(&terraform)))).await.unwrap();
    assert!(schema_call(ch.clone()).await.unwrap().provider.is_some());
    GrpcControllerClient::new(ch).shutdown(bluegreen_provider::proto::plugin::Empty {}).await.unwrap();
    assert!(wait_exit(&mut p.child, Duration::from_secs(3)).expect("exits after Shutdown").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_over_tcp_within_the_port_range() {
    let mut p = start(&[
        ("TF_DISABLE_PLUGIN_TLS", "1"),
        ("BLUEGREEN_PLUGIN_TRANSPORT", "tcp"),
        ("PLUGIN_MIN_PORT", "21000"),
        ("PLUGIN_MAX_PORT", "21999"),
    ]);
    assert_eq!(p.network, "tcp");
    assert!(p.server_cert.is_none());
    let port: u16 = p.addr.rsplit(':').next().unwrap().parse().unwrap();
    assert!((21000..=21999).contains(&port), "{}", p.addr);
    assert!(p.addr.starts_with("127.0.0.1:"));
    let ch = channel(&p, None).await.unwrap();
    schema_call(ch.clone()).await.unwrap();
    GrpcControllerClient::new(ch).shutdown(bluegreen_provider::proto::plugin::Empty {}).await.unwrap();
    assert!(wait_exit(&mut p.child, Duration::from_secs(3)).expect("exits").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_diagnostics_carry_attribute_paths() {
    let mut p = start(&[("TF_DISABLE_PLUGIN_TLS", "1")]);
    let ch = channel(&p, None).await.unwrap();
    let mut client = ProviderClient::new(ch.clone());
    let schema = schema_call(ch.clone()).await.unwrap();
    let ds = &schema.data_source_schemas["bluegreen_target_group"];
    let ty = implied_type(ds.block.as_ref().unwrap());
    // Both selectors set, and a malformed ARN.
    let mut attrs: std::collections::BTreeMap<String, Value> = match &ty {
        Type::Object(a) => a.keys().map(|k| (k.clone(), Value::Null)).collect(),
        _ => unreachable!(),
    };
    attrs.insert("name".into(), Value::string("legacy"));
    attrs.insert("arn".into(), Value::string("not-an-arn"));
    let config = pb::DynamicValue { msgpack: msgpack::encode(&Value::Object(attrs), &ty).unwrap(), json: vec![] };
    let resp = client
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: "bluegreen_target_group".into(),
            config: Some(config),
        })
        .await
        .unwrap()
        .into_inner();
    let paths: Vec<String> = resp
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.severity, pb::diagnostic::Severity::Error as i32);
            match d.attribute.as_ref().and_then(|a| a.steps.first()).and_then(|s| s.selector.clone()) {
                Some(pb::attribute_path::step::Selector::AttributeName(n)) => n,
                other => panic!("diagnostic without attribute path: {other:?} {d:?}"),
            }
        })
        .collect();
    assert!(paths.contains(&"arn".to_string()), "{paths:?}: malformed ARN");
    assert_eq!(paths.len(), 2, "{:?}", resp.diagnostics);

    // StopProvider answers (and cancels in-flight waits; none here).
    let stop = client.stop_provider(pb::stop_provider::Request {}).await.unwrap().into_inner();
    assert_eq!(stop.error, "");
    GrpcControllerClient::new(ch).shutdown(bluegreen_provider::proto::plugin::Empty {}).await.unwrap();
    assert!(wait_exit(&mut p.child, Duration::from_secs(3)).expect("exits").success());
}

#[test]
fn debug_mode_prints_reattach_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("--debug")
        .env_clear()
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut reattach = None;
    for _ in 0..10 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            reattach = Some(rest.trim_end_matches('\'').to_string());
            break;
        }
    }
    let json: serde_json::Value = serde_json::from_str(&reattach.expect("reattach line")).unwrap();
    let entry = &json["registry.terraform.io/cutover/bluegreen"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Pid"], child.id());
    assert_eq!(entry["Addr"]["Network"], "unix");
    assert!(Path::new(entry["Addr"]["String"].as_str().unwrap()).exists());
    // Ctrl-C ends debug mode.
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(wait_exit(&mut child, Duration::from_secs(3)).expect("exits on SIGINT").success());
}

#[test]
fn sigint_does_not_stop_a_plugin_launched_by_terraform() {
    let mut p = start(&[("TF_DISABLE_PLUGIN_TLS", "1")]);
    let _ = Command::new("kill").args(["-INT", &p.child.id().to_string()]).status();
    assert!(wait_exit(&mut p.child, Duration::from_millis(500)).is_none(), "Ctrl-C reaches providers as StopProvider, not as a signal");
}

fn implied_type(b: &pb::schema::Block) -> Type {
    let mut attrs = std::collections::BTreeMap::new();
    for a in &b.attributes {
        attrs.insert(a.name.clone(), Type::from_json_bytes(&a.r#type).unwrap());
    }
    for n in &b.block_types {
        let inner = implied_type(n.block.as_ref().unwrap());
        let ty = match n.nesting {
            1 => inner,
            3 => Type::set(inner),
            _ => Type::list(inner),
        };
        attrs.insert(n.type_name.clone(), ty);
    }
    Type::Object(attrs)
}
