//! The wire shape of each protocol's errors, for injected faults.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use super::*;

pub(super) const ROUTE53_XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

// ---------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------

/// The answer for an injected fault (`None`: reset). Sets the error code on the call.
pub(super) fn fault_answer(fault: &Fault, call: &mut Call) -> Option<Answer> {
    let request_id = request_id(call.seq);
    let (status, body) = match fault {
        Fault::ConnectionReset => return None,
        // A delay is handled by the caller; nested faults are flattened by Fault::forward_then.
        Fault::Delay(_) | Fault::AfterForward(_) | Fault::Pending => return Some(plain(500, "aws proxy: unsupported fault nesting")),
        Fault::Http(status) => (*status, String::new()),
        Fault::Error { status, code, message } if call.service == CLOUDWATCH => {
            return Some(cbor_error(&request_id, *status, code, message, call));
        }
        Fault::Error { status, code, message } => (*status, error_body(&call.service, *status, code, message, &request_id)),
        Fault::InvalidChangeBatch { messages } => {
            (400, error_body(ROUTE53, 400, "InvalidChangeBatch", &format!("[{}]", messages.join(", ")), &request_id))
        }
        Fault::InvalidChangeBatchDocumented { messages } => {
            let messages: String = messages.iter().map(|m| format!("<Message>{}</Message>", xml_escape(m))).collect();
            (
                400,
                format!(
                    "<?xml version=\"1.0\"?>\n<InvalidChangeBatch xmlns=\"{ROUTE53_XMLNS}\"><Messages>{messages}</Messages><RequestId>{request_id}</RequestId></InvalidChangeBatch>"
                ),
            )
        }
    };
    call.error_code = fault.code().map(str::to_string);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    if !matches!(fault, Fault::Http(_)) {
        h.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    Some(r)
}

/// A Smithy RPC v2 CBOR error (CloudWatch): a CBOR map `{"__type": code, "message": …}`, with the query-compatible
/// `x-amzn-query-error` header CloudWatch also sends.
fn cbor_error(request_id: &str, status: u16, code: &str, message: &str, call: &mut Call) -> Answer {
    call.error_code = Some(code.to_string());
    let mut r = Response::new(Full::new(Bytes::from(cbor_error_body(code, message))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
    h.insert(HeaderName::from_static("smithy-protocol"), HeaderValue::from_static("rpc-v2-cbor"));
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    if let Ok(v) = HeaderValue::from_str(&format!("{code};{kind}")) {
        h.insert(HeaderName::from_static("x-amzn-query-error"), v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    r
}

/// `{"__type": code, "message": message}` in CBOR (RFC 8949): a map of two text-string pairs.
pub(super) fn cbor_error_body(code: &str, message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        let n = s.len();
        match n {
            0..=23 => out.push(0x60 | n as u8),
            24..=0xFF => out.extend([0x78, n as u8]),
            _ => {
                let n = u16::try_from(n).expect("a short error text");
                out.push(0x79);
                out.extend(n.to_be_bytes());
            }
        }
        out.extend(s.as_bytes());
    }
    let mut out = vec![0xA2];
    for s in ["__type", code, "message", message] {
        text(&mut out, s);
    }
    out
}

/// An AWS error body in the protocol of `service`.
pub(super) fn error_body(service: &str, status: u16, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let (code, message) = (xml_escape(code), xml_escape(message));
    match service {
        EC2 => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ),
        _ => {
            let xmlns = match service {
                ROUTE53 => format!(" xmlns=\"{ROUTE53_XMLNS}\""),
                ELBV2 => " xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"".into(),
                STS => " xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"".into(),
                _ => String::new(),
            };
            format!(
                "<?xml version=\"1.0\"?>\n<ErrorResponse{xmlns}><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        }
    }
}

/// A request id shaped like AWS's (a UUID), recognisably the proxy's.
pub(super) fn request_id(seq: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", seq & 0xFFFF_FFFF_FFFF)
}

pub(super) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<Code>` of an AWS XML error body (`InvalidChangeBatch` for the documented shape that has none).
pub(super) fn error_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    if let Some(start) = text.find("<Code>") {
        let rest = &text[start + "<Code>".len()..];
        let end = rest.find("</Code>")?;
        return Some(rest[..end].trim().to_string());
    }
    text.contains("<InvalidChangeBatch").then(|| "InvalidChangeBatch".to_string())
}

// ---------------------------------------------------------------------------
// Classifying and sanitising requests
// ---------------------------------------------------------------------------
