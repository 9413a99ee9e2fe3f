//! A deliberately small HTTP/1.1 client for health gates: `GET url` with an
//! optional Host header, returning the status code. It is what an operator
//! does with `curl --connect-to <public name>::<new ALB>:` against the new
//! stack's own ALB hostname before any user reaches it: the Host header is
//! also the TLS server name, so green's certificate (issued for the public
//! name) is verified, against the built-in roots, the system's store and an
//! optional private CA. Skipping the checks (`curl -k`) is the last resort.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Host;

use crate::http_url::{self, UrlFault};

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeUrl {
    /// `https://` rather than `http://`.
    pub https: bool,
    /// Host as written (IPv6 without brackets).
    pub host: String,
    /// The port, explicit or the scheme's default (80, 443).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl ProbeUrl {
    /// Parses a URL; the error is a sentence for a diagnostic.
    pub fn parse(text: &str) -> Result<ProbeUrl, String> {
        let url = http_url::parse(text).map_err(|fault| {
            // Quoted with any userinfo redacted: the password never reaches a message.
            let text = http_url::redact(text);
            match fault {
                UrlFault::UserInfo => format!("{text:?} carries a user name or password; credentials do not belong in the URL"),
                UrlFault::WhiteSpace => format!("{text:?} contains white space"),
                UrlFault::NotHttp => format!("{text:?} must start with http:// or https://"),
                UrlFault::NoHost => format!("{text:?} has no host"),
                UrlFault::BadPort(p) => format!("{text:?} has an invalid port {p:?}"),
                UrlFault::Invalid(e) => format!("{text:?} is not a valid URL: {e}"),
            }
        })?;
        let host = match url.host() {
            Some(Host::Ipv6(addr)) => addr.to_string(),
            Some(host) => host.to_string(),
            None => return Err(format!("{text:?} has no host")),
        };
        let port = match url.port_or_known_default() {
            Some(0) => return Err(format!("{text:?} has an invalid port \"0\"")),
            Some(p) => p,
            None => return Err(format!("{text:?} has no port")),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Ok(ProbeUrl { https: url.scheme() == "https", host, port, path })
    }
}

/// Whom the HTTPS probe trusts: the built-in WebPKI roots and the system's
/// certificate store, plus a private CA's certificates (`ca_bundle`), unless
/// checks are skipped altogether (`insecure`, like `curl -k`: the last resort).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// Extra trusted roots, e.g. an internal ALB's private CA.
    pub ca_bundle: Vec<CertificateDer<'static>>,
    /// Accept any certificate.
    pub insecure: bool,
}

/// The certificates of a PEM bundle (`-----BEGIN CERTIFICATE-----` blocks);
/// the error is a sentence for a diagnostic.
pub fn parse_ca_bundle(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("it is not a PEM bundle of certificates: {e}"))?;
    if certs.is_empty() {
        return Err("it holds no -----BEGIN CERTIFICATE----- block".into());
    }
    let mut store = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store.add(cert.clone()).map_err(|e| format!("certificate {} of the bundle cannot be used as a root: {e}", i + 1))?;
    }
    Ok(certs)
}

/// The TLS server name: `host_header` when set (without a port), since green's
/// certificate is for the public name users ask for; the URL's host otherwise.
pub fn server_name(url: &ProbeUrl, host_header: Option<&str>) -> String {
    match host_header {
        Some(h) if h.starts_with('[') => h.trim_start_matches('[').split(']').next().unwrap_or(h).to_string(),
        Some(h) => h.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(h, |(host, _)| host).to_string(),
        None => url.host.clone(),
    }
}

/// Sends one GET and returns the status code. `host_header` overrides the
/// Host header (WAF and virtual-host rules match the public name, not the
/// ALB's own) and is the TLS server name the certificate is checked against.
pub async fn http_status(url: &ProbeUrl, host_header: Option<&str>, trust: &TlsTrust, timeout: Duration) -> Result<u16, String> {
    tokio::time::timeout(timeout, async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", url.host, url.port))?;
        let _ = tcp.set_nodelay(true);
        if url.https {
            let config = tls_config(trust);
            let sni = server_name(url, host_header);
            let name = ServerName::try_from(sni.clone()).map_err(|e| format!("invalid TLS server name {sni:?}: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| {
                if trust.insecure {
                    format!("TLS handshake failed: {e}")
                } else {
                    format!(
                        "TLS handshake with server name {sni:?} failed: {e} (set host_header to the name green's certificate is \
                         for; ca_bundle to trust a private CA; insecure_tls = true skips certificate checks, the last resort)"
                    )
                }
            })?;
            get(tls, url, host_header).await
        } else {
            get(tcp, url, host_header).await
        }
    })
    .await
    .map_err(|_| format!("no response within {}", crate::duration::format(timeout)))?
}

async fn get<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, url: &ProbeUrl, host_header: Option<&str>) -> Result<u16, String> {
    let default_host = if (url.https && url.port == 443) || (!url.https && url.port == 80) {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let host = host_header.map_or(default_host, str::to_string);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: terraform-provider-bluegreen health gate\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path
    );
    s.write_all(request.as_bytes()).await.map_err(|e| format!("sending the request failed: {e}"))?;
    // The status line is all we need; read until the first line ends.
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut chunk).await.map_err(|e| format!("reading the response failed: {e}"))?;
        if n == 0 || buf.len() > 8192 {
            return Err("the server closed the connection without an HTTP status line".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let status = line.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok());
    match (line.starts_with("HTTP/"), status) {
        (true, Some(code)) => Ok(code),
        _ => Err(format!("not an HTTP response: {:?}", line.lines().next().unwrap_or(""))),
    }
}

/// The built-in WebPKI roots and the system's store, read once per process.
fn base_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let native = rustls_native_certs::load_native_certs();
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        for e in native.errors {
            tracing::debug!(error = %e, "reading the system's certificate store");
        }
        tracing::debug!(added, ignored, "system certificate store read for the health gate's HTTPS checks");
        roots
    })
}

fn tls_config(trust: &TlsTrust) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the defaults");
    let mut config = if trust.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider))).with_no_client_auth()
    } else {
        let mut roots = base_roots().clone();
        roots.add_parsable_certificates(trust.ca_bundle.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// `curl -k`: any certificate is accepted, but the handshake signatures are
/// still checked so the session is at least bound to the presented key.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn urls() {
        let u = ProbeUrl::parse("https://new-alb-123.eu-west-1.elb.amazonaws.com/healthz?x=1").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (true, "new-alb-123.eu-west-1.elb.amazonaws.com", 443, "/healthz?x=1")
        );
        let u = ProbeUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.https, u.port, u.path.as_str()), (false, 8080, "/"));
        let u = ProbeUrl::parse("http://[::1]:81/a#frag").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("::1", 81, "/a"));
        let u = ProbeUrl::parse("http://h?x=1").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("h", 80, "/?x=1"));
        for (bad, why) in [
            ("ftp://x", "\"ftp://x\" must start with http:// or https://"),
            ("http://", "\"http://\" has no host"),
            ("http://h:0/", "\"http://h:0/\" has an invalid port \"0\""),
            ("http://h:99999", "\"http://h:99999\" has an invalid port \"99999\""),
            ("https://u:p@h/", "\"https://***@h/\" carries a user name or password; credentials do not belong in the URL"),
            ("http://a b/", "\"http://a b/\" contains white space"),
            ("example.com/healthz", "\"example.com/healthz\" must start with http:// or https://"),
        ] {
            assert_eq!(ProbeUrl::parse(bad), Err(why.to_string()), "{bad}");
        }
    }

    /// A one-shot HTTP server answering `status`, recording the request.
    async fn serve_once(status: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        (port, h)
    }

    #[tokio::test]
    async fn status_and_host_header() {
        let (port, req) = serve_once("503 Service Unavailable").await;
        let url = ProbeUrl::parse(&format!("http://127.0.0.1:{port}/healthz")).unwrap();
        assert_eq!(http_status(&url, Some("api.example.com"), &TlsTrust::default(), Duration::from_secs(5)).await, Ok(503));
        let req = req.await.unwrap();
        assert!(req.starts_with("GET /healthz HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("\r\nHost: api.example.com\r\n"), "{req}");
    }

    #[tokio::test]
    async fn connection_refused_is_an_error() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = ProbeUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let e = http_status(&url, None, &TlsTrust::default(), Duration::from_secs(5)).await.unwrap_err();
        assert!(e.contains("cannot connect"), "{e}");
    }

    #[tokio::test]
    async fn silence_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let _keep = tokio::spawn(async move {
            let (_s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let url = ProbeUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let e = http_status(&url, None, &TlsTrust::default(), Duration::from_millis(200)).await.unwrap_err();
        assert!(e.contains("no response within"), "{e}");
    }

    /// A throwaway private CA, and a server certificate it issued for `names`.
    fn private_ca(names: &[&str]) -> (String, CertificateDer<'static>, rustls::pki_types::PrivateKeyDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(rcgen::DnType::CommonName, "bluegreen test CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let cert = leaf.signed_by(&key, &rcgen::Issuer::from_params(&ca, &ca_key)).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        (ca_cert.pem(), cert.der().clone(), key)
    }

    /// An HTTPS server on 127.0.0.1 answering 200 to each connection, with `cert`.
    async fn serve_tls(cert: CertificateDer<'static>, key: rustls::pki_types::PrivateKeyDer<'static>) -> ProbeUrl {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = l.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut s) = acceptor.accept(tcp).await {
                        let mut buf = vec![0u8; 4096];
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
                        let _ = s.shutdown().await;
                    }
                });
            }
        });
        ProbeUrl::parse(&format!("https://127.0.0.1:{port}/healthz")).unwrap()
    }

    #[tokio::test]
    async fn a_private_ca_fails_without_ca_bundle_and_passes_with_it() {
        let (ca_pem, cert, key) = private_ca(&["api.example.com"]);
        let url = serve_tls(cert, key).await;
        let t = Duration::from_secs(5);
        let e = http_status(&url, Some("api.example.com"), &TlsTrust::default(), t).await.unwrap_err();
        assert!(e.contains("TLS handshake with server name \"api.example.com\" failed") && e.contains("ca_bundle"), "{e}");
        let trust = TlsTrust { ca_bundle: parse_ca_bundle(&ca_pem).unwrap(), insecure: false };
        assert_eq!(http_status(&url, Some("api.example.com"), &trust, t).await, Ok(200));
        // The certificate is checked against host_header (the TLS server name): another name fails.
        let e = http_status(&url, Some("www.example.com"), &trust, t).await.unwrap_err();
        assert!(e.contains("\"www.example.com\""), "{e}");
        // Without host_header, the URL's host (127.0.0.1) is not the certificate's name.
        assert!(http_status(&url, None, &trust, t).await.is_err());
        // insecure_tls, the last resort, takes anything.
        assert_eq!(http_status(&url, Some("www.example.com"), &TlsTrust { ca_bundle: vec![], insecure: true }, t).await, Ok(200));
    }

    #[test]
    fn the_server_name_is_host_header_without_its_port() {
        let url = ProbeUrl::parse("https://green-alb-1.eu-west-1.elb.amazonaws.com/").unwrap();
        assert_eq!(server_name(&url, None), "green-alb-1.eu-west-1.elb.amazonaws.com");
        assert_eq!(server_name(&url, Some("api.example.com")), "api.example.com");
        assert_eq!(server_name(&url, Some("api.example.com:8443")), "api.example.com");
        assert_eq!(server_name(&url, Some("[::1]:8443")), "::1");
    }

    #[test]
    fn a_ca_bundle_must_hold_certificates() {
        let (ca_pem, _, _) = private_ca(&["x"]);
        assert_eq!(parse_ca_bundle(&format!("{ca_pem}\n{ca_pem}")).map(|c| c.len()), Ok(2));
        assert_eq!(parse_ca_bundle("not a pem"), Err("it holds no -----BEGIN CERTIFICATE----- block".into()));
        assert!(parse_ca_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
    }
}
