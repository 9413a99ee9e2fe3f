//! go-plugin AutoMTLS that really verifies the peer.
//!
//! Terraform (go-plugin `client.go`) starts a provider with `PLUGIN_CLIENT_CERT` set to a
//! freshly generated, self-signed ECDSA P-521/SHA-512 certificate (CA=true, SAN `localhost`).
//! The provider answers with its own one-off self-signed certificate, sent as the sixth field of
//! the handshake line (DER, standard base64 without padding); Terraform pins it as the only root
//! CA (`RootCAs`) and dials with `ServerName: "localhost"`.
//!
//! This module provides:
//! * [`ServerIdentity`]: the per-process server certificate and key;
//! * [`server_config`]: a rustls [`ServerConfig`] that demands a client certificate and accepts
//!   only the exact certificate from `PLUGIN_CLIENT_CERT` ([`PinnedClientCertVerifier`]);
//! * [`tls_incoming`]: completed handshakes (tokio-rustls) over a stream of accepted connections
//!   (tonic's [`TcpIncoming`] via [`tcp_incoming`], or tokio-stream's `UnixListenerStream`), for
//!   `tonic::transport::Server::serve_with_incoming`. Plaintext serving passes those streams to
//!   tonic directly.
//!
//! Everything uses an explicit aws-lc-rs [`CryptoProvider`] ([`crypto_provider`]); the process
//! default provider is neither read nor installed.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use base64::Engine as _;
use futures::{future, Stream, StreamExt as _};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpIncoming};

/// Name of the environment variable in which go-plugin passes the client certificate (PEM).
pub const CLIENT_CERT_ENV: &str = "PLUGIN_CLIENT_CERT";

/// ALPN protocol offered by the server; grpc-go ≥ 1.67 refuses a TLS connection without it.
pub const ALPN_H2: &[u8] = b"h2";

/// Default bound on one TLS handshake. A client that has not finished by then is dropped.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// At most this many handshakes run at once; further connections wait in the listen backlog.
pub const MAX_PENDING_HANDSHAKES: usize = 64;

/// How far back the server certificate's `notBefore` is set (tolerates small clock steps).
const CERT_BACKDATE: Duration = Duration::from_secs(60 * 60);

/// Server certificate lifetime. The certificate lives as long as the process; go-plugin's own
/// servers use ~30 years, this is merely "long enough for any debug session".
const CERT_LIFETIME: Duration = Duration::from_secs(10 * 366 * 24 * 60 * 60);

/// The aws-lc-rs crypto provider used for every TLS object built here (P-521 needs aws-lc-rs;
/// rustls-webpki's ring backend cannot verify it).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The provider process's one-off TLS identity: a self-signed ECDSA P-256 certificate for
/// `localhost` with the serverAuth EKU, CA=false, and its private key.
///
/// CA=false is deliberate and compatible with Terraform: Go's `x509.Certificate.Verify` accepts a
/// leaf that is itself in `RootCAs` as a one-element chain (`if opts.Roots.contains(c)`) without
/// looking at its CA bit or key usage, then checks the SAN against `localhost` and the serverAuth
/// EKU. A CA=false leaf is also accepted by rustls-webpki when pinned as a trust anchor, whereas
/// webpki rejects a CA=true certificate used as an end entity.
pub struct ServerIdentity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// Generates a fresh key pair and self-signed certificate.
    pub fn generate() -> Result<ServerIdentity> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).context("generating the plugin server key")?;

        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).context("building the plugin server certificate parameters")?;
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, "localhost");
        name.push(rcgen::DnType::OrganizationName, "terraform-provider-bluegreen");
        params.distinguished_name = name;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];

        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).context("system clock is before 1970")?;
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + since_epoch.saturating_sub(CERT_BACKDATE);
        params.not_after = epoch + since_epoch + CERT_LIFETIME;
        // The serial number defaults to a hash of the (fresh) public key: unique per process.

        let cert = params.self_signed(&key).context("self-signing the plugin server certificate")?;
        Ok(ServerIdentity { cert: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()) })
    }

    /// The 6th field of the go-plugin handshake line: the certificate DER in standard base64
    /// without padding (go-plugin decodes it with `base64.RawStdEncoding`).
    pub fn handshake_cert(&self) -> String {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.cert.as_ref())
    }

    /// The server certificate (DER).
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("ServerIdentity").field("cert_der_len", &self.cert.as_ref().len()).finish_non_exhaustive()
    }
}

/// Builds the server TLS configuration for AutoMTLS.
///
/// * client certificate mandatory, and it must be byte-identical to (one of) the certificate(s)
///   in `client_cert_pem` (the value of `PLUGIN_CLIENT_CERT`);
/// * TLS 1.3 and 1.2; ALPN `h2`;
/// * explicit aws-lc-rs provider.
pub fn server_config(identity: &ServerIdentity, client_cert_pem: &str) -> Result<Arc<ServerConfig>> {
    let provider = crypto_provider();
    let verifier = PinnedClientCertVerifier::from_pem(client_cert_pem, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("selecting TLS protocol versions")?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.cert.clone()], PrivateKeyDer::Pkcs8(identity.key.clone_key()))
        .context("loading the plugin server certificate")?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// A [`ClientCertVerifier`] that accepts only pinned certificates (exact DER match) and checks
/// the client's handshake signature with the aws-lc-rs algorithms.
///
/// Unlike rustls' `WebPkiClientVerifier` it does no path building, so it accepts Terraform's
/// self-signed CA=true certificate presented as an end entity.
pub struct PinnedClientCertVerifier {
    pinned: Vec<CertificateDer<'static>>,
    subjects: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    /// Pins every certificate in `pem` (normally exactly one). Fails if there is none or one does
    /// not parse as X.509.
    pub fn from_pem(pem: &str, provider: &CryptoProvider) -> Result<Self> {
        let certs = rustls_pemfile::certs(&mut pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{CLIENT_CERT_ENV} is not valid PEM"))?;
        if certs.is_empty() {
            bail!("{CLIENT_CERT_ENV} contains no PEM certificate");
        }
        Self::new(certs, provider)
    }

    /// Pins the given DER certificates.
    pub fn new(certs: Vec<CertificateDer<'static>>, provider: &CryptoProvider) -> Result<Self> {
        if certs.is_empty() {
            bail!("no client certificate to pin");
        }
        // A RootCertStore parses each certificate (without judging its CA bit) and yields the
        // subjects, DER-encoded with the outer SEQUENCE, which is what CertificateRequest carries
        // and what Go compares against each chain certificate's RawIssuer.
        let mut store = RootCertStore::empty();
        for cert in &certs {
            store.add(cert.clone()).context("the pinned client certificate is not a valid X.509 certificate")?;
        }
        Ok(Self { pinned: certs, subjects: store.subjects(), algorithms: provider.signature_verification_algorithms })
    }
}

impl fmt::Debug for PinnedClientCertVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedClientCertVerifier").field("pinned", &self.pinned.len()).finish_non_exhaustive()
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // go-plugin's own server sends its ClientCAs subjects here too. A Go client sends its
        // certificate only if some chain certificate's issuer is listed (or the list is empty);
        // Terraform's certificate is self-signed, so its subject is its issuer.
        &self.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.pinned.iter().any(|pinned| pinned.as_ref() == end_entity.as_ref()) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // aws-lc-rs: includes ECDSA_NISTP521_SHA512, the scheme Terraform's P-521 key needs.
        self.algorithms.supported_schemes()
    }
}

/// TCP connections as tonic's own [`TcpIncoming`] accepts them, with `TCP_NODELAY` (gRPC sends
/// many small frames; Nagle plus delayed ACKs would add latency).
pub fn tcp_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Completed TLS handshakes over accepted `connections` (from [`tcp_incoming`] or a
/// `UnixListenerStream`), for `tonic::transport::Server::serve_with_incoming`. Up to
/// [`MAX_PENDING_HANDSHAKES`] run at once, each bounded by `handshake_timeout`
/// ([`DEFAULT_HANDSHAKE_TIMEOUT`] when serving), so a slow or bad client never blocks others;
/// failed handshakes and failed accepts are logged at debug level and dropped.
pub fn tls_incoming<S, IO>(
    connections: S,
    config: Arc<ServerConfig>,
    handshake_timeout: Duration,
) -> impl Stream<Item = io::Result<TlsConn<IO>>> + Send
where
    S: Stream<Item = io::Result<IO>> + Send,
    IO: AsyncRead + AsyncWrite + Connected<ConnectInfo: fmt::Debug> + Unpin + Send + 'static,
{
    let acceptor = TlsAcceptor::from(config);
    connections
        .filter_map(|accepted| {
            future::ready(accepted.map_err(|error| tracing::debug!(%error, "plugin connection failed during accept")).ok())
        })
        .map(move |io| handshake(acceptor.clone(), io, handshake_timeout))
        .buffer_unordered(MAX_PENDING_HANDSHAKES)
        .filter_map(|conn| future::ready(conn.map(Ok)))
}

async fn handshake<IO>(acceptor: TlsAcceptor, io: IO, timeout: Duration) -> Option<TlsConn<IO>>
where
    IO: AsyncRead + AsyncWrite + Connected<ConnectInfo: fmt::Debug> + Unpin,
{
    let peer = io.connect_info();
    match tokio::time::timeout(timeout, acceptor.accept(io)).await {
        Ok(Ok(stream)) => {
            tracing::trace!(?peer, version = ?stream.get_ref().1.protocol_version(), "plugin TLS handshake complete");
            Some(TlsConn(stream))
        }
        Ok(Err(error)) => {
            tracing::debug!(?peer, %error, "plugin TLS handshake failed; connection dropped");
            None
        }
        Err(_elapsed) => {
            tracing::debug!(?peer, ?timeout, "plugin TLS handshake timed out; connection dropped");
            None
        }
    }
}

/// A plugin connection after its TLS handshake. The newtype only adds tonic's [`Connected`]:
/// tonic implements it for tokio-rustls streams behind its `tls-connect-info` feature, which
/// would rebuild rustls (with `logging`) for the whole dependency tree.
pub struct TlsConn<IO>(TlsStream<IO>);

impl<IO> TlsConn<IO> {
    /// The TLS session (negotiated ALPN protocol, the client's certificate).
    pub fn session(&self) -> &rustls::ServerConnection {
        self.0.get_ref().1
    }
}

impl<IO: Connected> Connected for TlsConn<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.get_ref().0.connect_info()
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsConn<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsConn<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::SocketAddr;
    use std::sync::Mutex;

    use rustls::client::ResolvesClientCert;
    use rustls::pki_types::ServerName;
    use rustls::sign::CertifiedKey;
    use rustls::{ClientConfig, ProtocolVersion, SupportedProtocolVersion};
    use std::future::Future;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use tokio::net::{TcpStream, UnixListener, UnixStream};
    use tokio::sync::mpsc;
    use tokio_rustls::TlsConnector;
    use tokio_stream::wrappers::UnixListenerStream;

    const IO_TIMEOUT: Duration = Duration::from_secs(10);

    /// A certificate shaped like go-plugin's `generateCert()`: ECDSA P-521 / SHA-512,
    /// self-signed, CA=true with certSign, clientAuth+serverAuth, SAN localhost.
    struct TestCert {
        der: CertificateDer<'static>,
        key: PrivatePkcs8KeyDer<'static>,
        pem: String,
    }

    fn terraform_like_cert() -> TestCert {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, "localhost");
        name.push(rcgen::DnType::OrganizationName, "HashiCorp");
        params.distinguished_name = name;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyAgreement,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&key).unwrap();
        TestCert { der: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()), pem: cert.pem() }
    }

    fn certified_key(cert: &TestCert) -> Arc<CertifiedKey> {
        let key = crypto_provider().key_provider.load_private_key(PrivateKeyDer::Pkcs8(cert.key.clone_key())).unwrap();
        Arc::new(CertifiedKey::new(vec![cert.der.clone()], key))
    }

    /// What the server's CertificateRequest offered, as seen by the client.
    #[derive(Debug, Default)]
    struct SeenRequest {
        hints: Vec<Vec<u8>>,
        schemes: Vec<SignatureScheme>,
    }

    /// Client certificate resolver that records the CertificateRequest and then presents the
    /// configured certificate (or none).
    #[derive(Debug)]
    struct RecordingResolver {
        key: Option<Arc<CertifiedKey>>,
        seen: Mutex<Option<SeenRequest>>,
    }

    impl ResolvesClientCert for RecordingResolver {
        fn resolve(&self, root_hint_subjects: &[&[u8]], sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
            *self.seen.lock().unwrap() =
                Some(SeenRequest { hints: root_hint_subjects.iter().map(|h| h.to_vec()).collect(), schemes: sigschemes.to_vec() });
            self.key.clone()
        }

        fn has_certs(&self) -> bool {
            self.key.is_some()
        }
    }

    /// A client that trusts exactly the server certificate through rustls' stock WebPKI
    /// verifier (so SAN `localhost`, serverAuth EKU and CA=false are really checked).
    fn client_config(
        server: &ServerIdentity,
        resolver: Arc<RecordingResolver>,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(server.cert_der().clone()).unwrap();
        let mut config = ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_client_cert_resolver(resolver);
        config.alpn_protocols = vec![b"h2".to_vec()];
        Arc::new(config)
    }

    fn resolver(cert: Option<&TestCert>) -> Arc<RecordingResolver> {
        Arc::new(RecordingResolver { key: cert.map(certified_key), seen: Mutex::new(None) })
    }

    const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    const TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

    /// Server-side view of an accepted connection.
    #[derive(Debug)]
    struct Accepted {
        alpn: Option<Vec<u8>>,
        peer_cert: Option<Vec<u8>>,
    }

    /// Starts an echo server behind `tls_incoming` on loopback TCP.
    async fn start_echo_server(config: Arc<ServerConfig>) -> (SocketAddr, mpsc::UnboundedReceiver<Accepted>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut incoming = Box::pin(tls_incoming(tcp_incoming(listener), config, DEFAULT_HANDSHAKE_TIMEOUT));
            while let Some(conn) = incoming.next().await {
                let Ok(conn) = conn else { continue };
                let _ = tx.send(Accepted {
                    alpn: conn.session().alpn_protocol().map(<[u8]>::to_vec),
                    peer_cert: conn.session().peer_certificates().and_then(|c| c.first()).map(|c| c.as_ref().to_vec()),
                });
                tokio::spawn(async move {
                    let (mut r, mut w) = tokio::io::split(conn);
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        (addr, rx)
    }

    struct ClientOutcome {
        version: Option<ProtocolVersion>,
        alpn: Option<Vec<u8>>,
    }

    /// Handshake, then a write/read round trip. An error anywhere (including EOF instead of the
    /// echo) is a failure: with TLS 1.3 a rejected client certificate only surfaces after the
    /// client's side of the handshake has completed.
    async fn round_trip(
        addr: SocketAddr,
        config: Arc<ClientConfig>,
    ) -> std::result::Result<ClientOutcome, Box<dyn std::error::Error + Send + Sync>> {
        tokio::time::timeout(IO_TIMEOUT, async move {
            let tcp = TcpStream::connect(addr).await?;
            let mut tls = TlsConnector::from(config).connect(ServerName::try_from("localhost")?, tcp).await?;
            let outcome =
                ClientOutcome { version: tls.get_ref().1.protocol_version(), alpn: tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec) };
            tls.write_all(b"ping").await?;
            tls.flush().await?;
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await?;
            if &buf != b"ping" {
                return Err("echo mismatch".into());
            }
            Ok(outcome)
        })
        .await?
    }

    struct Fixture {
        server: ServerIdentity,
        terraform: TestCert,
        addr: SocketAddr,
        accepted: mpsc::UnboundedReceiver<Accepted>,
    }

    async fn fixture() -> Fixture {
        let server = ServerIdentity::generate().unwrap();
        let terraform = terraform_like_cert();
        let config = server_config(&server, &terraform.pem).unwrap();
        let (addr, accepted) = start_echo_server(config).await;
        Fixture { server, terraform, addr, accepted }
    }

    /// Asserts the server never yielded a connection for a refused client.
    async fn assert_nothing_accepted(accepted: &mut mpsc::UnboundedReceiver<Accepted>) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(accepted.try_recv().is_err(), "a refused client reached the service");
    }

    #[tokio::test]
    async fn right_client_cert_is_accepted_with_h2() {
        let mut fx = fixture().await;
        let resolver = resolver(Some(&fx.terraform));
        let config = client_config(&fx.server, resolver.clone(), BOTH);
        let outcome = round_trip(fx.addr, config).await.expect("handshake + echo");
        assert_eq!(outcome.alpn.as_deref(), Some(b"h2".as_slice()));
        assert_eq!(outcome.version, Some(ProtocolVersion::TLSv1_3));

        let accepted = fx.accepted.recv().await.unwrap();
        assert_eq!(accepted.alpn.as_deref(), Some(b"h2".as_slice()));
        assert_eq!(accepted.peer_cert.as_deref(), Some(fx.terraform.der.as_ref()));
    }

    #[tokio::test]
    async fn right_client_cert_over_tls12_only_is_accepted() {
        let mut fx = fixture().await;
        let config = client_config(&fx.server, resolver(Some(&fx.terraform)), TLS12_ONLY);
        let outcome = round_trip(fx.addr, config).await.expect("handshake + echo");
        assert_eq!(outcome.version, Some(ProtocolVersion::TLSv1_2));
        assert_eq!(outcome.alpn.as_deref(), Some(b"h2".as_slice()));
        assert!(fx.accepted.recv().await.is_some());
    }

    #[tokio::test]
    async fn missing_client_cert_is_refused() {
        let mut fx = fixture().await;
        for versions in [BOTH, TLS12_ONLY] {
            let config = client_config(&fx.server, resolver(None), versions);
            assert!(round_trip(fx.addr, config).await.is_err());
        }
        assert_nothing_accepted(&mut fx.accepted).await;
    }

    #[tokio::test]
    async fn other_valid_p521_ca_cert_is_refused() {
        let mut fx = fixture().await;
        let stranger = terraform_like_cert();
        for versions in [BOTH, TLS12_ONLY] {
            let config = client_config(&fx.server, resolver(Some(&stranger)), versions);
            assert!(round_trip(fx.addr, config).await.is_err());
        }
        assert_nothing_accepted(&mut fx.accepted).await;
    }

    /// A client presenting the pinned certificate without its private key (signing with
    /// another key) must fail the CertificateVerify check.
    #[tokio::test]
    async fn pinned_cert_with_wrong_key_is_refused() {
        let mut fx = fixture().await;
        let other = terraform_like_cert();
        let key = crypto_provider().key_provider.load_private_key(PrivateKeyDer::Pkcs8(other.key.clone_key())).unwrap();
        let forged = Arc::new(RecordingResolver {
            key: Some(Arc::new(CertifiedKey::new(vec![fx.terraform.der.clone()], key))),
            seen: Mutex::new(None),
        });
        for versions in [BOTH, TLS12_ONLY] {
            let config = client_config(&fx.server, forged.clone(), versions);
            assert!(round_trip(fx.addr, config).await.is_err());
        }
        assert_nothing_accepted(&mut fx.accepted).await;
    }

    /// Go's client sends its certificate only if `CertificateRequestInfo.SupportsCertificate`
    /// passes: a offered signature scheme fits the key (P-521 → ecdsa_secp521r1_sha512 in TLS
    /// 1.3) and the acceptable-CA list is empty or contains some chain cert's RawIssuer.
    #[tokio::test]
    async fn certificate_request_lets_a_go_client_pick_terraforms_cert() {
        let fx = fixture().await;
        let raw_issuer = der::issuer(fx.terraform.der.as_ref());
        for versions in [BOTH, TLS12_ONLY] {
            let resolver = resolver(Some(&fx.terraform));
            let config = client_config(&fx.server, resolver.clone(), versions);
            round_trip(fx.addr, config).await.expect("handshake + echo");
            let seen = resolver.seen.lock().unwrap().take().expect("a CertificateRequest");
            assert!(seen.schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512), "{:?}", seen.schemes);
            assert!(seen.hints.iter().any(|h| h.as_slice() == raw_issuer));
        }
    }

    #[tokio::test]
    async fn slow_client_does_not_block_others_and_times_out() {
        let server = ServerIdentity::generate().unwrap();
        let terraform = terraform_like_cert();
        let config = server_config(&server, &terraform.pem).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = Box::pin(tls_incoming(tcp_incoming(listener), config, Duration::from_millis(500)));
        let (tx, mut accepted) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(conn) = incoming.next().await {
                let Ok(conn) = conn else { continue };
                let _ = tx.send(());
                tokio::spawn(async move {
                    let (mut r, mut w) = tokio::io::split(conn);
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });

        // Silent client: TCP connected, never sends a ClientHello.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        // Garbage client: not TLS at all.
        let mut garbage = TcpStream::connect(addr).await.unwrap();
        garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();

        let started = std::time::Instant::now();
        let config = client_config(&server, resolver(Some(&terraform)), BOTH);
        round_trip(addr, config).await.expect("good client served");
        assert!(started.elapsed() < Duration::from_millis(450));
        accepted.recv().await.unwrap();

        // The silent client is disconnected by the handshake timeout.
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(IO_TIMEOUT, silent.read(&mut buf)).await.expect("server closed the silent connection");
        assert!(matches!(read, Ok(0) | Err(_)));
        // The garbage client got an alert or EOF, and was never yielded.
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(IO_TIMEOUT, garbage.read_to_end(&mut sink)).await.expect("server closed the garbage connection");
        assert!(accepted.try_recv().is_err());
    }

    #[test]
    fn handshake_cert_is_unpadded_base64_of_the_der() {
        // Try several identities: DER lengths vary, so padding would show up on some.
        for _ in 0..8 {
            let identity = ServerIdentity::generate().unwrap();
            let field = identity.handshake_cert();
            assert!(!field.contains('='), "{field}");
            assert!(!field.contains('\n'));
            assert!(!field.contains('|'));
            assert!(field.len() > 50, "go-plugin ignores a 6th field of ≤ 50 chars");
            let decoded = base64::engine::general_purpose::STANDARD_NO_PAD.decode(&field).unwrap();
            assert_eq!(decoded, identity.cert_der().as_ref());
        }
    }

    #[test]
    fn server_identity_debug_hides_the_key() {
        let identity = ServerIdentity::generate().unwrap();
        let shown = format!("{identity:?}");
        assert!(shown.starts_with("ServerIdentity"));
        assert!(!shown.contains("key:"));
    }

    #[test]
    fn bad_client_cert_pem_is_rejected() {
        let identity = ServerIdentity::generate().unwrap();
        assert!(server_config(&identity, "").is_err());
        assert!(server_config(&identity, "not a certificate").is_err());
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(server_config(&identity, garbage).is_err());
        assert!(server_config(&identity, &terraform_like_cert().pem).is_ok());
    }

    #[test]
    fn verifier_offers_p521_and_pins_subject() {
        let cert = terraform_like_cert();
        let verifier = PinnedClientCertVerifier::from_pem(&cert.pem, &crypto_provider()).unwrap();
        assert!(verifier.client_auth_mandatory());
        assert!(verifier.supported_verify_schemes().contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        let hints: Vec<&[u8]> = verifier.root_hint_subjects().iter().map(|dn| dn.as_ref()).collect();
        assert_eq!(hints, vec![der::subject(cert.der.as_ref())]);
        let now = UnixTime::now();
        assert!(verifier.verify_client_cert(&cert.der, &[], now).is_ok());
        let other = terraform_like_cert();
        assert!(verifier.verify_client_cert(&other.der, &[], now).is_err());
    }

    // ---- tonic end to end -------------------------------------------------------------------

    trait TestIo: AsyncRead + AsyncWrite + Send {}
    impl<T: AsyncRead + AsyncWrite + Send> TestIo for T {}
    type BoxIo = Pin<Box<dyn TestIo>>;
    type ConnectFn = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = io::Result<BoxIo>> + Send>> + Send + Sync>;

    /// A tonic channel connector running an arbitrary async connect function.
    #[derive(Clone)]
    struct TestConnector(ConnectFn);

    impl tonic::codegen::Service<tonic::codegen::http::Uri> for TestConnector {
        type Response = hyper_util::rt::TokioIo<BoxIo>;
        type Error = io::Error;
        type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _uri: tonic::codegen::http::Uri) -> Self::Future {
            let connect = self.0.clone();
            Box::pin(async move { Ok(hyper_util::rt::TokioIo::new(connect().await?)) })
        }
    }

    fn tls_connect_fn<F, Fut, S>(config: Arc<ClientConfig>, dial: F) -> ConnectFn
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<S>> + Send + 'static,
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let dial = Arc::new(dial);
        Arc::new(move || {
            let config = config.clone();
            let dial = dial.clone();
            Box::pin(async move {
                let io = dial().await?;
                let name = ServerName::try_from("localhost").unwrap();
                let tls = TlsConnector::from(config).connect(name, io).await?;
                Ok(Box::pin(tls) as BoxIo)
            })
        })
    }

    async fn health_check(connect: ConnectFn) -> Result<i32, tonic::Status> {
        use tonic_health::pb::health_client::HealthClient;
        use tonic_health::pb::HealthCheckRequest;
        let channel = tonic::transport::Endpoint::from_static("http://localhost")
            .connect_timeout(IO_TIMEOUT)
            .connect_with_connector(TestConnector(connect))
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let response = HealthClient::new(channel).check(HealthCheckRequest { service: "plugin".into() }).await?;
        Ok(response.into_inner().status)
    }

    async fn serve_health<S, IO>(incoming: S)
    where
        S: Stream<Item = io::Result<IO>> + Send + 'static,
        IO: AsyncRead + AsyncWrite + Connected<ConnectInfo: Clone + Send + Sync + 'static> + Unpin + Send + 'static,
    {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;
        tokio::spawn(tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming));
    }

    const SERVING: i32 = 1;

    #[tokio::test]
    async fn tonic_grpc_over_tls_tcp() {
        let server = ServerIdentity::generate().unwrap();
        let terraform = terraform_like_cert();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        serve_health(tls_incoming(tcp_incoming(listener), server_config(&server, &terraform.pem).unwrap(), DEFAULT_HANDSHAKE_TIMEOUT))
            .await;

        let good = client_config(&server, resolver(Some(&terraform)), BOTH);
        let status = health_check(tls_connect_fn(good, move || TcpStream::connect(addr))).await.unwrap();
        assert_eq!(status, SERVING);

        let stranger = terraform_like_cert();
        let bad = client_config(&server, resolver(Some(&stranger)), BOTH);
        assert!(health_check(tls_connect_fn(bad, move || TcpStream::connect(addr))).await.is_err());
    }

    #[tokio::test]
    async fn tonic_grpc_over_tls_unix_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.sock");
        let server = ServerIdentity::generate().unwrap();
        let terraform = terraform_like_cert();
        let listener = UnixListener::bind(&path).unwrap();
        let connections = UnixListenerStream::new(listener);
        serve_health(tls_incoming(connections, server_config(&server, &terraform.pem).unwrap(), DEFAULT_HANDSHAKE_TIMEOUT)).await;

        let good = client_config(&server, resolver(Some(&terraform)), TLS12_ONLY);
        let dial_path = path.clone();
        let status = health_check(tls_connect_fn(good, move || UnixStream::connect(dial_path.clone()))).await.unwrap();
        assert_eq!(status, SERVING);

        let anonymous = client_config(&server, resolver(None), BOTH);
        let dial_path = path.clone();
        assert!(health_check(tls_connect_fn(anonymous, move || { UnixStream::connect(dial_path.clone()) })).await.is_err());
    }

    #[tokio::test]
    async fn tonic_grpc_plaintext_over_unix_and_tcp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("debug.sock");
        serve_health(UnixListenerStream::new(UnixListener::bind(&path).unwrap())).await;
        let connect: ConnectFn = Arc::new(move || {
            let path = path.clone();
            Box::pin(async move { Ok(Box::pin(UnixStream::connect(path).await?) as BoxIo) })
        });
        assert_eq!(health_check(connect).await.unwrap(), SERVING);

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        serve_health(tcp_incoming(listener)).await;
        let connect: ConnectFn = Arc::new(move || Box::pin(async move { Ok(Box::pin(TcpStream::connect(addr).await?) as BoxIo) }));
        assert_eq!(health_check(connect).await.unwrap(), SERVING);
    }

    /// Minimal DER walking to read a certificate's issuer and subject (as whole TLVs, i.e.
    /// Go's `RawIssuer` / `RawSubject`).
    mod der {
        /// Splits one TLV off `input`: (whole TLV, contents, rest).
        fn tlv(input: &[u8]) -> (&[u8], &[u8], &[u8]) {
            let first = input[1];
            let (len, header) = if first < 0x80 {
                (first as usize, 2)
            } else {
                let n = (first & 0x7f) as usize;
                let len = input[2..2 + n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
                (len, 2 + n)
            };
            (&input[..header + len], &input[header..header + len], &input[header + len..])
        }

        /// TBSCertificate fields: [version], serial, signature, issuer, validity, subject, …
        fn tbs_fields(cert: &[u8]) -> Vec<&[u8]> {
            let (_, cert_body, _) = tlv(cert);
            let (_, mut tbs, _) = tlv(cert_body);
            let mut fields = Vec::new();
            while !tbs.is_empty() {
                let (whole, _, rest) = tlv(tbs);
                fields.push(whole);
                tbs = rest;
            }
            if fields[0][0] == 0xa0 {
                fields.remove(0); // explicit version tag
            }
            fields
        }

        pub(super) fn issuer(cert: &[u8]) -> &[u8] {
            tbs_fields(cert)[2]
        }

        pub(super) fn subject(cert: &[u8]) -> &[u8] {
            tbs_fields(cert)[4]
        }
    }
}
