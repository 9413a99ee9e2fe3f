//! Classifying requests (service, operation) and keeping secrets out of the record.

use std::time::Duration;

use super::*;

/// Headers that carry credentials: never recorded.
pub(super) const SECRET_HEADERS: &[&str] = &["authorization", "x-amz-security-token", "cookie", "proxy-authorization"];

/// Query-string and Query-body parameters that carry credentials or signatures.
pub(super) const SECRET_PARAMS: &[&str] =
    &["X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential", "Signature", "SecurityToken", "WebIdentityToken", "SAMLAssertion"];

/// A [`Call`] for the request, without its outcome.
pub(super) fn describe(parts: &hyper::http::request::Parts, body: &[u8], at: Duration) -> Call {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let method = parts.method.as_str().to_string();
    let raw_path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let text = String::from_utf8_lossy(body).into_owned();
    let (service, operation) = classify(&method, raw_path, header("authorization"), &text);
    let attempt = header("amz-sdk-request")
        .and_then(|v| v.split(';').find_map(|kv| kv.trim().strip_prefix("attempt=")).and_then(|n| n.trim().parse().ok()));
    let changes = (operation == "ChangeResourceRecordSets").then(|| text.matches("<Change>").count() + text.matches("<Change ").count());
    let headers = parts
        .headers
        .iter()
        .filter(|(k, _)| !SECRET_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Call {
        seq: 0,
        at,
        service,
        operation,
        method,
        path: redact_query(raw_path),
        headers,
        body: redact_form(&text),
        attempt,
        invocation_id: header("amz-sdk-invocation-id").map(str::to_string),
        changes,
        fault: None,
        forwarded: false,
        upstream_status: None,
        status: None,
        error_code: None,
        duration: Duration::ZERO,
    }
}

/// `(service, operation)` of a request. The service is the signing name of
/// the SigV4 credential scope (`Credential=AKID/20250101/us-east-1/route53/aws4_request`),
/// else guessed from the path or the Query `Version`.
pub fn classify(method: &str, path_and_query: &str, authorization: Option<&str>, body: &str) -> (String, String) {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let param = |name: &str| form_params(body).chain(form_params(query)).find(|(k, _)| k == name).map(|(_, v)| v);
    let service = authorization
        .and_then(scope_service)
        .or_else(|| path.starts_with("/2013-04-01/").then(|| ROUTE53.to_string()))
        .or_else(|| {
            param("Version").and_then(|v| match v.as_str() {
                "2015-12-01" => Some(ELBV2.to_string()),
                "2016-11-15" => Some(EC2.to_string()),
                "2011-06-15" => Some(STS.to_string()),
                _ => None,
            })
        })
        .unwrap_or_else(|| UNKNOWN.to_ascii_lowercase());
    let operation = if service == ROUTE53 {
        route53_operation(method, path).map(str::to_string)
    } else if let Some(op) = rpc_v2_operation(path) {
        Some(op.to_string())
    } else {
        param("Action")
    };
    (service, operation.filter(|o| !o.is_empty()).unwrap_or_else(|| UNKNOWN.to_string()))
}

/// The operation of a Smithy RPC v2 request (`/service/<Service>/operation/<Op>`; CloudWatch today).
pub(super) fn rpc_v2_operation(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/service/")?;
    let (_, op) = rest.split_once("/operation/")?;
    (!op.is_empty() && !op.contains('/')).then_some(op)
}

/// The service of a SigV4 `Authorization` header's credential scope.
pub(super) fn scope_service(authorization: &str) -> Option<String> {
    let credential = authorization.split([' ', ',']).find_map(|p| p.trim().strip_prefix("Credential="))?;
    // AKID/date/region/service/aws4_request
    let parts: Vec<&str> = credential.split('/').collect();
    (parts.len() >= 5).then(|| parts[parts.len() - 2].to_string())
}

/// Route 53's REST operations, from method and path.
pub(super) fn route53_operation(method: &str, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/2013-04-01/")?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let op = match (method, segs.as_slice()) {
        ("GET", ["hostedzone"]) => "ListHostedZones",
        ("POST", ["hostedzone"]) => "CreateHostedZone",
        ("GET", ["hostedzone", _]) => "GetHostedZone",
        ("POST", ["hostedzone", _]) => "UpdateHostedZoneComment",
        ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
        ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("POST", ["hostedzone", _, "associatevpc"]) => "AssociateVPCWithHostedZone",
        ("POST", ["hostedzone", _, "disassociatevpc"]) => "DisassociateVPCFromHostedZone",
        ("GET", ["hostedzone", _, "dnssec"]) => "GetDNSSEC",
        ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", ["hostedzonesbyvpc"]) => "ListHostedZonesByVPC",
        ("GET", ["hostedzonecount"]) => "GetHostedZoneCount",
        ("GET", ["hostedzonelimit", _, _]) => "GetHostedZoneLimit",
        ("GET", ["change", _]) => "GetChange",
        ("GET", ["tags", _, _]) => "ListTagsForResource",
        ("POST", ["tags", _, _]) => "ChangeTagsForResource",
        ("POST", ["tags", _]) => "ListTagsForResources",
        ("GET", ["healthcheck"]) => "ListHealthChecks",
        ("POST", ["healthcheck"]) => "CreateHealthCheck",
        ("GET", ["healthcheck", _]) => "GetHealthCheck",
        ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
        ("DELETE", ["healthcheck", _]) => "DeleteHealthCheck",
        ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
        ("GET", ["healthcheckcount"]) => "GetHealthCheckCount",
        ("GET", ["accountlimit", _]) => "GetAccountLimit",
        ("GET", ["delegationset"]) => "ListReusableDelegationSets",
        ("POST", ["delegationset"]) => "CreateReusableDelegationSet",
        ("GET", ["delegationset", _]) => "GetReusableDelegationSet",
        ("DELETE", ["delegationset", _]) => "DeleteReusableDelegationSet",
        ("GET", ["checkeripranges"]) => "GetCheckerIpRanges",
        ("GET", ["geolocation"]) => "GetGeoLocation",
        ("GET", ["geolocations"]) => "ListGeoLocations",
        _ => return None,
    };
    Some(op)
}

/// `k=v&k=v` pairs, URL-decoded.
pub(super) fn form_params(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    s.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k), percent_decode(v))
    })
}

pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path with secret query parameters replaced by `REDACTED`.
pub(super) fn redact_query(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_pairs(query)),
        None => path_and_query.to_string(),
    }
}

/// A Query (form) body with secret parameters replaced; other bodies unchanged.
pub(super) fn redact_form(body: &str) -> String {
    if body.starts_with('<') || !body.contains('=') {
        return body.to_string();
    }
    redact_pairs(body)
}

pub(super) fn redact_pairs(s: &str) -> String {
    s.split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.iter().any(|p| percent_decode(k).eq_ignore_ascii_case(p)) => format!("{k}=REDACTED"),
            _ => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}
