//! Serving: the listener, one task per request, forwarding to LocalStack, resets.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::*;

pub(super) type Upstream = Client<HttpConnector, Full<Bytes>>;

pub(super) type Answer = Response<Full<Bytes>>;

pub(super) async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: tokio::sync::oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("proxy: listener into tokio");
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("aws proxy: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(Resettable { inner: stream, reset: reset.clone() });
        let (shared, client) = (shared.clone(), client.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, shared.clone(), client.clone(), reset.clone()));
            // Errors here are the client going away, or an injected reset.
            let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, service).await;
        });
    }
}

/// A connection that closes with a TCP reset (SO_LINGER 0) instead of a FIN
/// once `reset` is set.
pub(super) struct Resettable {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Resettable {
    fn resetting(&self) -> bool {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            true
        } else {
            false
        }
    }
}

impl Drop for Resettable {
    fn drop(&mut self) {
        self.resetting();
    }
}

impl AsyncRead for Resettable {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Resettable {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.resetting() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // No FIN before the reset: the client must see ECONNRESET, not an orderly end.
        if this.resetting() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.resetting() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// One request: read it, classify it, pick a fault, and answer, in a task
/// of its own so that a request is carried through even if the client gives
/// up (a delayed request still lands, as it would at AWS).
pub(super) async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    client: Upstream,
    reset: Arc<AtomicBool>,
) -> Result<Answer, io::Error> {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    let mut call = describe(&parts, &body, arrived.duration_since(shared.started));
    let (fault, in_flight) = shared.admit(&mut call);
    let task = tokio::spawn(async move {
        let _in_flight = in_flight;
        let (answer, call) = respond(&shared, &client, parts, body, call, fault, arrived).await;
        shared.record(call);
        answer
    });
    match task.await.map_err(io::Error::other)? {
        Some(answer) => Ok(answer),
        None => {
            reset.store(true, Ordering::SeqCst);
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected connection reset"))
        }
    }
}

/// The answer (`None`: reset the connection) and the finished call.
pub(super) async fn respond(
    shared: &Shared,
    client: &Upstream,
    parts: hyper::http::request::Parts,
    body: Bytes,
    mut call: Call,
    fault: Option<Fault>,
    arrived: Instant,
) -> (Option<Answer>, Call) {
    call.fault = fault.clone();
    let (before, after) = match fault {
        Some(Fault::AfterForward(inner)) => (None, Some(*inner)),
        Some(Fault::Pending) => (None, Some(Fault::Pending)),
        other => (other, None),
    };
    let answer = match before {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(f) => Some(fault_answer(&f, &mut call)),
        None => None,
    };
    let answer = match answer {
        Some(a) => a,
        None => {
            let real = forward(&shared.upstream, client, parts, body, &mut call).await;
            match after {
                None => real,
                Some(Fault::Delay(d)) => {
                    tokio::time::sleep(d).await;
                    real
                }
                Some(Fault::Pending) => real.map(still_pending),
                Some(f) => fault_answer(&f, &mut call),
            }
        }
    };
    call.duration = arrived.elapsed();
    if let Some(a) = &answer {
        call.status = Some(a.status().as_u16());
    }
    (answer, call)
}

/// Sends the request on to LocalStack and returns its answer (502 if it is unreachable).
pub(super) async fn forward(
    upstream: &str,
    client: &Upstream,
    parts: hyper::http::request::Parts,
    body: Bytes,
    call: &mut Call,
) -> Option<Answer> {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let uri: hyper::Uri = match format!("{upstream}{path}").parse() {
        Ok(u) => u,
        Err(e) => return Some(plain(502, &format!("aws proxy: bad upstream URL {upstream}{path}: {e}"))),
    };
    let mut req = Request::builder().method(parts.method).uri(uri).version(hyper::Version::HTTP_11);
    if let Some(h) = req.headers_mut() {
        *h = parts.headers;
        strip_hop_by_hop(h);
    }
    let req = req.body(Full::new(body)).expect("a request from the parts of one");
    call.forwarded = true;
    let resp = match client.request(req).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aws proxy: forwarding {} to {upstream} failed: {e}", call.key());
            return Some(plain(502, &format!("aws proxy: {upstream} did not answer: {e}")));
        }
    };
    let (mut head, body) = resp.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Some(plain(502, &format!("aws proxy: reading the answer from {upstream}: {e}"))),
    };
    call.upstream_status = Some(head.status.as_u16());
    if !head.status.is_success() {
        call.error_code = error_code(&body);
    }
    strip_hop_by_hop(&mut head.headers);
    head.headers.remove(hyper::header::CONTENT_LENGTH);
    Some(Response::from_parts(head, Full::new(body)))
}

/// LocalStack's answer with a Route 53 change reported PENDING instead of INSYNC.
pub(super) fn still_pending(answer: Answer) -> Answer {
    let (head, body) = answer.into_parts();
    let bytes = body.into_inner().unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).replace("<Status>INSYNC</Status>", "<Status>PENDING</Status>");
    Response::from_parts(head, Full::new(Bytes::from(text)))
}

pub(super) fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"] {
        h.remove(name);
    }
}

pub(super) fn plain(status: u16, text: &str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}
