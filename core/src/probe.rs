//! A deliberately small HTTP/1.1 client for health gates: `GET url` with an
//! optional Host header and optional certificate checking, returning the
//! status code. It is what an operator does with `curl -k -H 'Host: …'`
//! against the new stack's own ALB hostname before any user reaches it.

use std::sync::Arc;
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
        let url = http_url::parse(text).map_err(|fault| match fault {
            UrlFault::WhiteSpace => format!("{text:?} contains white space"),
            UrlFault::NotHttp => format!("{text:?} must start with http:// or https://"),
            UrlFault::NoHost => format!("{text:?} has no host"),
            UrlFault::BadPort(p) => format!("{text:?} has an invalid port {p:?}"),
            UrlFault::Invalid(e) => format!("{text:?} is not a valid URL: {e}"),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{text:?} must not carry credentials"));
        }
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

/// Sends one GET and returns the status code. `host_header` overrides the
/// Host header (WAF and virtual-host rules match the public name, not the
/// ALB's own); `insecure_tls` skips certificate checks (the ALB's hostname
/// does not match its certificate).
pub async fn http_status(url: &ProbeUrl, host_header: Option<&str>, insecure_tls: bool, timeout: Duration) -> Result<u16, String> {
    tokio::time::timeout(timeout, async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", url.host, url.port))?;
        let _ = tcp.set_nodelay(true);
        if url.https {
            let config = tls_config(insecure_tls);
            let name = ServerName::try_from(url.host.clone()).map_err(|e| format!("invalid TLS server name {:?}: {e}", url.host))?;
            let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| {
                if insecure_tls {
                    format!("TLS handshake failed: {e}")
                } else {
                    format!("TLS handshake failed: {e} (set insecure_tls = true to skip certificate checks, like curl -k)")
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

fn tls_config(insecure: bool) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the defaults");
    let mut config = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider))).with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
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
            ("https://u:p@h/", "\"https://u:p@h/\" must not carry credentials"),
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
        assert_eq!(http_status(&url, Some("api.example.com"), false, Duration::from_secs(5)).await, Ok(503));
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
        let e = http_status(&url, None, false, Duration::from_secs(5)).await.unwrap_err();
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
        let e = http_status(&url, None, false, Duration::from_millis(200)).await.unwrap_err();
        assert!(e.contains("no response within"), "{e}");
    }
}
