use hyper::Request;

use super::classify::*;
use super::rules::*;
use super::wire::*;
use super::*;

const R53_AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd";
const ELB_AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=ff";

fn op(method: &str, path: &str) -> (String, String) {
    classify(method, path, Some(R53_AUTH), "")
}

#[test]
fn cloudwatch_operations_from_rpc_v2_paths() {
    let auth = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=ff";
    for op in ["DescribeAlarms", "GetMetricData", "PutMetricData"] {
        let path = format!("/service/GraniteServiceVersion20100801/operation/{op}");
        assert_eq!(classify("POST", &path, Some(auth), "\u{fffd}binary cbor"), (CLOUDWATCH.to_string(), op.to_string()));
    }
    assert_eq!(classify("POST", "/service/X/operation/", Some(auth), "").1, UNKNOWN);
}

#[test]
fn route53_operations_from_rest_paths() {
    let cases = [
        ("GET", "/2013-04-01/hostedzone/Z123/rrset?name=app.example.com.&type=A&maxitems=300", "ListResourceRecordSets"),
        ("GET", "/2013-04-01/hostedzone/Z123/rrset/", "ListResourceRecordSets"),
        ("POST", "/2013-04-01/hostedzone/Z123/rrset", "ChangeResourceRecordSets"),
        ("POST", "/2013-04-01/hostedzone/Z123/rrset/", "ChangeResourceRecordSets"),
        ("GET", "/2013-04-01/change/C2682N5HXP0BZ4", "GetChange"),
        ("GET", "/2013-04-01/hostedzone/Z123", "GetHostedZone"),
        ("GET", "/2013-04-01/hostedzonesbyname?dnsname=example.com&maxitems=1", "ListHostedZonesByName"),
        ("GET", "/2013-04-01/hostedzone", "ListHostedZones"),
        ("GET", "/2013-04-01/hostedzone?maxitems=100", "ListHostedZones"),
        ("POST", "/2013-04-01/hostedzone", "CreateHostedZone"),
        ("DELETE", "/2013-04-01/hostedzone/Z123", "DeleteHostedZone"),
        ("GET", "/2013-04-01/tags/hostedzone/Z123", "ListTagsForResource"),
        ("GET", "/2013-04-01/healthcheck/abc/status", "GetHealthCheckStatus"),
        ("PUT", "/2013-04-01/hostedzone/Z123", UNKNOWN),
        ("GET", "/2013-04-01/nonsense/a/b/c", UNKNOWN),
    ];
    for (method, path, want) in cases {
        assert_eq!(op(method, path), (ROUTE53.to_string(), want.to_string()), "{method} {path}");
    }
}

#[test]
fn query_operations_from_the_action() {
    let body = "Action=DescribeRules&Version=2015-12-01&ListenerArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A0%3Alistener%2Fapp%2Fx";
    assert_eq!(classify("POST", "/", Some(ELB_AUTH), body), (ELBV2.into(), "DescribeRules".into()));
    // Without a signature: guessed from the API version; GET with a query string.
    assert_eq!(classify("POST", "/", None, "Action=GetCallerIdentity&Version=2011-06-15"), (STS.into(), "GetCallerIdentity".into()));
    assert_eq!(classify("GET", "/?Action=DescribeVpcs&Version=2016-11-15", None, ""), (EC2.into(), "DescribeVpcs".into()));
    assert_eq!(classify("GET", "/2013-04-01/change/C1", None, ""), (ROUTE53.into(), "GetChange".into()));
    assert_eq!(classify("POST", "/", None, "hello"), ("unknown".into(), UNKNOWN.into()));
}

#[test]
fn the_service_is_the_credential_scope() {
    assert_eq!(scope_service(R53_AUTH).as_deref(), Some("route53"));
    assert_eq!(scope_service(ELB_AUTH).as_deref(), Some("elasticloadbalancing"));
    assert_eq!(scope_service("Bearer x"), None);
}

#[test]
fn secrets_are_redacted() {
    assert_eq!(
        redact_query("/?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc&Action=X"),
        "/?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&Action=X"
    );
    assert_eq!(
        redact_form("Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJ.secret&Version=2011-06-15"),
        "Action=AssumeRoleWithWebIdentity&WebIdentityToken=REDACTED&Version=2011-06-15"
    );
    assert_eq!(redact_form("<x a=\"1\">&amp;</x>"), "<x a=\"1\">&amp;</x>");
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("arn%3Aaws%3Ax+y%2F"), "arn:aws:x y/");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%4"), "%4");
    assert_eq!(percent_decode("%zz"), "%zz");
}

#[test]
fn error_bodies_have_each_protocols_shape() {
    let r53 = error_body(ROUTE53, 400, "Throttling", "Rate exceeded", "rid");
    assert!(r53.contains(
        "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
    ), "{r53}");
    let elb = error_body(ELBV2, 500, "InternalFailure", "a<b", "rid");
    assert!(elb.contains("<Type>Receiver</Type><Code>InternalFailure</Code><Message>a&lt;b</Message>"), "{elb}");
    let ec2 = error_body(EC2, 503, "RequestLimitExceeded", "Request limit exceeded.", "rid");
    assert!(ec2.contains("<Response><Errors><Error><Code>RequestLimitExceeded</Code>"), "{ec2}");
    assert!(ec2.contains("<RequestID>rid</RequestID>"), "{ec2}");
    assert_eq!(error_code(r53.as_bytes()).as_deref(), Some("Throttling"));
    assert_eq!(error_code(ec2.as_bytes()).as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(error_code(b"<InvalidChangeBatch><Messages/></InvalidChangeBatch>").as_deref(), Some("InvalidChangeBatch"));
    assert_eq!(error_code(b""), None);
}

#[test]
fn cloudwatch_errors_are_cbor_maps() {
    let b = cbor_error_body("Throttling", "Rate exceeded");
    let mut want = vec![0xA2, 0x66];
    want.extend(b"__type");
    want.push(0x6A);
    want.extend(b"Throttling");
    want.push(0x67);
    want.extend(b"message");
    want.push(0x6D);
    want.extend(b"Rate exceeded");
    assert_eq!(b, want);
    let long = "x".repeat(300);
    let b = cbor_error_body("C", &long);
    assert_eq!(&b[b.len() - 303..b.len() - 300], &[0x79, 0x01, 0x2C]);
}

fn call(op: &str, body: &str) -> Call {
    let parts = Request::post("/").body(()).expect("request").into_parts().0;
    let mut c = describe(&parts, body.as_bytes(), Duration::ZERO);
    c.service = ROUTE53.into();
    c.operation = op.into();
    c
}

fn fired(rule: Rule, calls: &[Call]) -> Vec<bool> {
    let mut a = Active::new(rule);
    calls.iter().map(|c| a.fires(c)).collect()
}

#[test]
fn schedules() {
    let w = call("ChangeResourceRecordSets", "<Change>green</Change>");
    let r = call("ListResourceRecordSets", "");
    let seq = [w.clone(), r.clone(), w.clone(), w.clone(), w.clone(), w.clone(), w.clone()];
    let f = || Fault::throttling().on("ChangeResourceRecordSets");
    assert_eq!(fired(f().first(2), &seq), [true, false, true, false, false, false, false]);
    assert_eq!(fired(f().every(2), &seq), [false, false, true, false, true, false, true]);
    assert_eq!(fired(f().after(1).first(2), &seq), [false, false, true, true, false, false, false]);
    assert_eq!(fired(f(), &seq), [true, false, true, true, true, true, true]);
    assert_eq!(fired(f().body_contains("blue"), &seq), [false; 7]);
    assert_eq!(fired(Fault::throttling().on_service(ROUTE53).first(3), &seq), [true, true, true, false, false, false, false]);
    assert_eq!(fired(Fault::throttling().on_service(ELBV2), &seq), [false; 7]);
    let many = vec![w; 2000];
    let a = fired(f().with_probability(0.3, 42), &many);
    assert_eq!(a, fired(f().with_probability(0.3, 42), &many), "the same seed decides the same");
    assert_ne!(a, fired(f().with_probability(0.3, 43), &many), "another seed decides otherwise");
    let rate = a.iter().filter(|x| **x).count() as f64 / a.len() as f64;
    assert!((0.25..0.35).contains(&rate), "rate {rate}");
    assert_eq!(fired(f().with_probability(0.0, 1), &many), vec![false; 2000]);
    assert_eq!(fired(f().with_probability(1.0, 1), &many), vec![true; 2000]);
}

#[test]
fn changes_in_a_batch_are_counted() {
    let parts = Request::post("/2013-04-01/hostedzone/Z1/rrset").body(()).expect("request").into_parts().0;
    let body = "<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>UPSERT</Action></Change><Change><Action>DELETE</Action></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>";
    let c = describe(&parts, body.as_bytes(), Duration::ZERO);
    assert_eq!((c.operation.as_str(), c.changes), ("ChangeResourceRecordSets", Some(2)));
}
