//! [`StatusServer`]: a scripted HTTP server for health-gate checks.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

/// A tiny HTTP server on 127.0.0.1 for health-gate checks: it answers the
/// n-th request with `script[n]`, and every request after the script with
/// `then`. Stops when dropped.
pub struct StatusServer {
    port: u16,
    /// Serving HTTPS ([`StatusServer::start_tls`]).
    tls: bool,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    then: std::sync::Arc<std::sync::atomic::AtomicU16>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

/// A throwaway private CA made for one test, and a server certificate it issued.
pub struct TestCa {
    /// The CA's certificate in PEM: what a `ca_bundle` holds.
    pub ca_pem: String,
    /// The server's certificate (DER), issued by the CA for the names asked.
    pub cert: rustls::pki_types::CertificateDer<'static>,
    /// The server's private key.
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl TestCa {
    /// A new CA, and a server certificate for `names` (DNS names or IP addresses).
    pub fn issue(names: &[&str]) -> TestCa {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.distinguished_name.push(rcgen::DnType::CommonName, "bluegreen acceptance test CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca.self_signed(&ca_key).expect("self-signed CA");
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("server parameters");
        let cert = params.signed_by(&key, &rcgen::Issuer::from_params(&ca, &ca_key)).expect("server certificate");
        TestCa { ca_pem: ca_cert.pem(), cert: cert.der().clone(), key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()) }
    }
}

impl StatusServer {
    pub fn start(script: &[u16], then: u16) -> StatusServer {
        Self::serve(script, then, None)
    }

    /// The same over HTTPS, with `ca`'s server certificate. A client that
    /// gives up in the handshake (an untrusted certificate) is not counted
    /// as a request.
    pub fn start_tls(script: &[u16], then: u16, ca: &TestCa) -> StatusServer {
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![ca.cert.clone()], ca.key.clone_key())
            .expect("server certificate and key");
        Self::serve(script, then, Some(std::sync::Arc::new(config)))
    }

    fn serve(script: &[u16], then: u16, tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> StatusServer {
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
        let is_tls = tls.is_some();
        let handle = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let tcp = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => continue,
                };
                let _ = tcp.set_nonblocking(false);
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let mut conn: Box<dyn ReadWrite> = match &tls {
                    Some(config) => match rustls::ServerConnection::new(config.clone()) {
                        Ok(c) => Box::new(rustls::StreamOwned::new(c, tcp)),
                        Err(_) => continue,
                    },
                    None => Box::new(tcp),
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                if tls.is_some() && buf.is_empty() {
                    continue; // the handshake failed: no request
                }
                let n = {
                    let mut r = reqs.lock().expect("requests lock");
                    r.push(String::from_utf8_lossy(&buf).into_owned());
                    r.len() - 1
                };
                let code = script.get(n).copied().unwrap_or_else(|| after.load(Ordering::Relaxed));
                let reason = if code == 200 { "OK" } else { "Status" };
                let _ = conn.write_all(format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
                let _ = conn.flush();
            }
        });
        StatusServer { port, tls: is_tls, requests, then, stop, handle: Some(handle) }
    }

    /// `http://127.0.0.1:<port><path>` (`https://` from [`StatusServer::start_tls`]).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
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

/// A connection, plain or TLS.
trait ReadWrite: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

impl Drop for StatusServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
