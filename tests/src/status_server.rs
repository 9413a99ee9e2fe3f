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
