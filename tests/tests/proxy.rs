//! The recording, fault-injecting AWS proxy (`bluegreen_acceptance::proxy`)
//! against LocalStack: the AWS SDK for Rust sees every injected fault as
//! AWS would make it look, the schedules do what they say, a
//! forward-then-fail lands its change, a reset is an I/O failure, a delay
//! beyond the client's timeout still lands, what the SDK retries on its own,
//! and the provider's real traffic during a plan is classified and recorded
//! without credentials.
//!
//! Every test has its own proxy and its own hosted zone, so they run in parallel.
//!
//! `cargo test -p bluegreen-acceptance --test proxy -- --test-threads=4`

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types as r53;
use bluegreen_acceptance::proxy::{Call, Fault, Proxy, EC2, ELBV2, ROUTE53};
use bluegreen_acceptance::{block_on, fixture, unique_suffix, AwsClients, Workdir};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// SDK clients through the proxy that never retry: every injected fault reaches the caller.
fn no_retries(proxy: &Proxy) -> AwsClients {
    AwsClients::at(&proxy.endpoint(), RetryConfig::disabled())
}

/// A fresh zone for one test: `(zone name, zone id)`, made directly in LocalStack.
fn zone(prefix: &str) -> (String, String) {
    fixture::hosted_zone(&unique_suffix(prefix))
}

/// A simple A record `name` → `value`.
fn a_record(name: &str, value: &str) -> r53::ResourceRecordSet {
    r53::ResourceRecordSet::builder()
        .name(name)
        .r#type(r53::RrType::A)
        .ttl(60)
        .resource_records(r53::ResourceRecord::builder().value(value).build().expect("record"))
        .build()
        .expect("record set")
}

/// A failed write, as the SDK reports it (boxed in results: it is large).
type WriteError = SdkError<ChangeResourceRecordSetsError, HttpResponse>;

/// One ChangeResourceRecordSets of one change, through `c`.
fn change(c: &AwsClients, zone_id: &str, action: r53::ChangeAction, rrs: r53::ResourceRecordSet) -> Result<(), Box<WriteError>> {
    let batch = r53::ChangeBatch::builder()
        .changes(r53::Change::builder().action(action).resource_record_set(rrs).build().expect("change"))
        .build()
        .expect("batch");
    block_on(c.route53.change_resource_record_sets().hosted_zone_id(zone_id).change_batch(batch).send()).map(|_| ()).map_err(Box::new)
}

/// `upsert name → value` through `c`.
fn upsert(c: &AwsClients, zone_id: &str, name: &str, value: &str) -> Result<(), Box<WriteError>> {
    change(c, zone_id, r53::ChangeAction::Upsert, a_record(name, value))
}

/// The values of the A records of `name`, read directly from LocalStack.
fn values_in_localstack(zone_id: &str, name: &str) -> Vec<String> {
    fixture::record_sets(zone_id, name).into_iter().filter(|r| r.record_type == "A").flat_map(|r| r.values).collect()
}

/// The HTTP status of an SDK error's raw response, if there was one.
fn raw_status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// The calls, one per line, for assertion messages.
fn listing(calls: &[Call]) -> String {
    calls.iter().map(|c| format!("  {c}\n")).collect()
}

// ---------------------------------------------------------------------------
// Error shapes as the SDK sees them
// ---------------------------------------------------------------------------

#[test]
fn route53_faults_reach_the_sdk_with_their_codes_and_messages() {
    let (zone_name, zone_id) = zone("pxr");
    let name = format!("app.{zone_name}");
    let proxy = Proxy::start();
    let c = no_retries(&proxy);

    // One rule per call, in order: a rule with first(1) fires once, then lets the next rule see the calls.
    let write = "ChangeResourceRecordSets";
    let messages = [format!("Tried to create resource record set [name='{name}.', type='A'] but it already exists"), "second".into()];
    proxy.inject(Fault::throttling().on("GetHostedZone").first(1));
    proxy.inject(Fault::prior_request_not_complete().on(write).first(1));
    proxy.inject(Fault::invalid_change_batch(&messages).on(write).first(1));
    proxy.inject(Fault::InvalidChangeBatchDocumented { messages: messages.to_vec() }.on(write).first(1));
    proxy.inject(Fault::http(503).on(write).first(1));
    proxy.inject(Fault::service_unavailable().on(write).first(1));

    // Throttling (400).
    let e = block_on(c.route53.get_hosted_zone().id(&zone_id).send()).expect_err("throttled");
    assert!(matches!(e, SdkError::ServiceError(_)), "{e:?}");
    assert_eq!((e.code(), e.message(), raw_status(&e)), (Some("Throttling"), Some("Rate exceeded"), Some(400)));
    // The rule is spent: the next call goes through.
    block_on(c.route53.get_hosted_zone().id(&zone_id).send()).expect("second GetHostedZone goes through");

    // PriorRequestNotComplete (400): modelled, so the SDK gives the typed variant.
    let e = upsert(&c, &zone_id, &name, "192.0.2.1").expect_err("PriorRequestNotComplete");
    assert_eq!((e.code(), raw_status(&e)), (Some("PriorRequestNotComplete"), Some(400)));
    assert!(matches!(e.as_service_error(), Some(ChangeResourceRecordSetsError::PriorRequestNotComplete(_))), "{e:?}");

    // InvalidChangeBatch (400) as Route 53 sends it: the typed variant, the messages in `message`
    // (`messages()` stays empty: the SDK reads it from a lower-case <messages> that AWS never sends).
    let e = upsert(&c, &zone_id, &name, "192.0.2.1").expect_err("InvalidChangeBatch");
    assert_eq!((e.code(), raw_status(&e)), (Some("InvalidChangeBatch"), Some(400)));
    match e.as_service_error() {
        Some(ChangeResourceRecordSetsError::InvalidChangeBatch(icb)) => {
            assert_eq!(icb.message(), Some(format!("[{}, {}]", messages[0], messages[1]).as_str()));
            assert!(icb.messages().is_empty(), "{icb:?}");
        }
        other => panic!("expected InvalidChangeBatch, got {other:?}"),
    }

    // The API reference's <InvalidChangeBatch><Messages> shape: the SDK cannot parse it, so no code at all.
    let e = upsert(&c, &zone_id, &name, "192.0.2.1").expect_err("documented InvalidChangeBatch");
    assert_eq!((e.code(), raw_status(&e)), (None, Some(400)), "{e:?}");
    assert!(matches!(e.as_service_error(), Some(err) if err.meta().code().is_none()), "{e:?}");
    let raw = String::from_utf8_lossy(e.raw_response().and_then(|r| r.body().bytes()).unwrap_or_default()).into_owned();
    assert!(raw.contains(&format!("<Message>{}</Message>", messages[1])), "{raw}");

    // A bare 503 (empty body): a service error without a code.
    let e = upsert(&c, &zone_id, &name, "192.0.2.1").expect_err("503");
    assert_eq!((e.code(), raw_status(&e)), (None, Some(503)), "{e:?}");

    // An AWS-shaped 503.
    let e = upsert(&c, &zone_id, &name, "192.0.2.1").expect_err("ServiceUnavailable");
    assert_eq!((e.code(), raw_status(&e)), (Some("ServiceUnavailable"), Some(503)), "{e:?}");

    // Every rule spent: the write goes through and lands.
    upsert(&c, &zone_id, &name, "192.0.2.1").expect("the seventh write goes through");
    assert_eq!(values_in_localstack(&zone_id, &name), ["192.0.2.1"]);

    let calls = proxy.calls();
    let seen: Vec<(&str, Option<u16>, Option<&str>, bool)> =
        calls.iter().map(|c| (c.operation.as_str(), c.status, c.error_code.as_deref(), c.injected())).collect();
    assert_eq!(
        seen,
        [
            ("GetHostedZone", Some(400), Some("Throttling"), true),
            ("GetHostedZone", Some(200), None, false),
            (write, Some(400), Some("PriorRequestNotComplete"), true),
            (write, Some(400), Some("InvalidChangeBatch"), true),
            (write, Some(400), Some("InvalidChangeBatch"), true),
            (write, Some(503), None, true),
            (write, Some(503), Some("ServiceUnavailable"), true),
            (write, Some(200), None, false),
        ],
        "\n{}",
        listing(&calls)
    );
    assert!(calls.iter().all(|c| c.service == ROUTE53 && c.attempt == Some(1)), "\n{}", listing(&calls));
    assert!(calls.iter().filter(|c| c.operation == write).all(|c| c.changes == Some(1)), "\n{}", listing(&calls));
    assert_eq!(calls.iter().map(|c| c.forwarded).collect::<Vec<_>>(), [false, true, false, false, false, false, false, true]);
}

#[test]
fn elbv2_and_ec2_faults_reach_the_sdk_with_their_codes() {
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    proxy.inject(Fault::throttling_exception().on("DescribeLoadBalancers").first(1));
    proxy.inject(Fault::throttling().on("DescribeLoadBalancers").first(1));
    proxy.inject(Fault::internal_failure().on_service(ELBV2).first(1));
    // EC2 has its own error shape (<Response><Errors><Error>…): its throttling code, as EC2 sends it.
    proxy.inject(Fault::error(503, "RequestLimitExceeded", "Request limit exceeded.").on_service(EC2).first(1));

    let describe = || block_on(c.elbv2.describe_load_balancers().send()).map_err(Box::new);
    for (code, message, status) in [("ThrottlingException", "Rate exceeded", 400), ("Throttling", "Rate exceeded", 400)] {
        let e = describe().expect_err(code);
        assert!(matches!(*e, SdkError::ServiceError(_)), "{e:?}");
        assert_eq!((e.code(), e.message(), raw_status(&e)), (Some(code), Some(message), Some(status)), "{e:?}");
    }
    let e = describe().expect_err("InternalFailure");
    assert_eq!((e.code(), raw_status(&e)), (Some("InternalFailure"), Some(500)), "{e:?}");
    describe().expect("the fourth DescribeLoadBalancers goes through");

    let e = block_on(c.ec2.describe_vpcs().send()).expect_err("RequestLimitExceeded");
    assert_eq!((e.code(), e.message(), raw_status(&e)), (Some("RequestLimitExceeded"), Some("Request limit exceeded."), Some(503)));
    block_on(c.ec2.describe_vpcs().send()).expect("the second DescribeVpcs goes through");

    let calls = proxy.calls();
    let seen: Vec<(&str, &str, Option<&str>)> =
        calls.iter().map(|c| (c.service.as_str(), c.operation.as_str(), c.error_code.as_deref())).collect();
    assert_eq!(
        seen,
        [
            (ELBV2, "DescribeLoadBalancers", Some("ThrottlingException")),
            (ELBV2, "DescribeLoadBalancers", Some("Throttling")),
            (ELBV2, "DescribeLoadBalancers", Some("InternalFailure")),
            (ELBV2, "DescribeLoadBalancers", None),
            (EC2, "DescribeVpcs", Some("RequestLimitExceeded")),
            (EC2, "DescribeVpcs", None),
        ],
        "\n{}",
        listing(&calls)
    );
}

// ---------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------

/// `n` GetHostedZone calls through `c`: which of them failed.
fn failures(c: &AwsClients, zone_id: &str, n: usize) -> Vec<bool> {
    (0..n).map(|_| block_on(c.route53.get_hosted_zone().id(zone_id).send()).is_err()).collect()
}

#[test]
fn schedules_first_n_every_nth_after_and_seeded_probability() {
    let (zone_name, zone_id) = zone("pxs");
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    let gets = || Fault::throttling().on("GetHostedZone");

    proxy.inject(gets().first(2));
    assert_eq!(failures(&c, &zone_id, 5), [true, true, false, false, false]);

    proxy.clear_faults();
    proxy.inject(gets().every(3));
    assert_eq!(failures(&c, &zone_id, 7), [false, false, true, false, false, true, false]);

    proxy.clear_faults();
    proxy.inject(gets().after(2).first(2));
    assert_eq!(failures(&c, &zone_id, 5), [false, false, true, true, false]);

    // Seeded probability: the same seed gives the same pattern, another seed another one.
    let pattern = |seed: u64| {
        proxy.clear_faults();
        proxy.inject(gets().with_probability(0.5, seed));
        failures(&c, &zone_id, 24)
    };
    let (a, again, other) = (pattern(7), pattern(7), pattern(8));
    assert_eq!(a, again, "seed 7 twice");
    assert_ne!(a, other, "seeds 7 and 8");
    let hits = a.iter().filter(|f| **f).count();
    assert!((4..=20).contains(&hits), "{hits} of 24 at p = 0.5: {a:?}");
    // What the client saw is what the proxy recorded.
    let recorded: Vec<bool> = proxy.calls().iter().rev().take(24).rev().map(Call::injected).collect();
    assert_eq!(recorded, other);

    // A predicate on the body: only the write that names `blue.` fails, however often the others come.
    proxy.clear_faults();
    proxy.reset();
    proxy.inject(Fault::throttling().on("ChangeResourceRecordSets").body_contains(&format!("blue.{zone_name}")));
    for (host, fails) in [("green", false), ("blue", true), ("grey", false), ("blue", true)] {
        let r = upsert(&c, &zone_id, &format!("{host}.{zone_name}"), "192.0.2.7");
        assert_eq!(r.is_err(), fails, "{host}: {r:?}");
    }
    assert_eq!(proxy.count("ChangeResourceRecordSets"), 4);
    assert_eq!(proxy.faults().len(), 2);
    assert_eq!(proxy.counts_for(ROUTE53).into_iter().collect::<Vec<_>>(), [("ChangeResourceRecordSets".to_string(), 4)]);
}

// ---------------------------------------------------------------------------
// Ambiguous failures: forward then fail, resets, delays
// ---------------------------------------------------------------------------

#[test]
fn forward_then_fail_lands_the_change_and_answers_500() {
    let (zone_name, zone_id) = zone("pxf");
    let (landed, reset_after) = (format!("landed.{zone_name}"), format!("reset-after.{zone_name}"));
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    proxy.inject(Fault::forward_then_fail().on("ChangeResourceRecordSets").first(1));
    proxy.inject(Fault::forward_then(Fault::connection_reset()).on("ChangeResourceRecordSets").first(1));

    let e = change(&c, &zone_id, r53::ChangeAction::Create, a_record(&landed, "192.0.2.10")).expect_err("500");
    assert_eq!((e.code(), raw_status(&e)), (Some("InternalFailure"), Some(500)), "{e:?}");
    assert_eq!(values_in_localstack(&zone_id, &landed), ["192.0.2.10"], "the change landed although the client got a 500");

    // Forward, then reset: landed too, and the client only saw the connection go.
    let e = change(&c, &zone_id, r53::ChangeAction::Create, a_record(&reset_after, "192.0.2.11")).expect_err("reset");
    assert!(matches!(*e, SdkError::DispatchFailure(ref d) if d.is_io()), "{e:?}");
    assert_eq!(values_in_localstack(&zone_id, &reset_after), ["192.0.2.11"]);

    let calls = proxy.calls();
    let seen: Vec<(bool, Option<u16>, Option<u16>)> = calls.iter().map(|c| (c.forwarded, c.upstream_status, c.status)).collect();
    assert_eq!(seen, [(true, Some(200), Some(500)), (true, Some(200), None)], "\n{}", listing(&calls));
}

#[test]
fn connection_reset_is_an_io_failure_and_nothing_lands() {
    let (zone_name, zone_id) = zone("pxc");
    let name = format!("never.{zone_name}");
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    proxy.inject(Fault::connection_reset().on("ChangeResourceRecordSets").first(1));

    let e = upsert(&c, &zone_id, &name, "192.0.2.20").expect_err("reset");
    match &*e {
        SdkError::DispatchFailure(d) => assert!(d.is_io(), "{e:?}"),
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
    assert!(values_in_localstack(&zone_id, &name).is_empty(), "a reset before forwarding must not land");
    // The client's next call, on a new connection, goes through.
    upsert(&c, &zone_id, &name, "192.0.2.20").expect("the next write goes through");

    let calls = proxy.calls();
    assert_eq!(calls.len(), 2, "\n{}", listing(&calls));
    assert_eq!((calls[0].fault.clone(), calls[0].status, calls[0].forwarded), (Some(Fault::ConnectionReset), None, false));
    assert_eq!((calls[1].status, calls[1].forwarded), (Some(200), true));
}

#[test]
fn a_delay_beyond_the_client_timeout_times_out_and_still_lands() {
    let (zone_name, zone_id) = zone("pxd");
    let name = format!("late.{zone_name}");
    let proxy = Proxy::start();
    proxy.inject(Fault::delay(Duration::from_millis(1500)).on("ChangeResourceRecordSets").first(1));
    let conf = block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(bluegreen_acceptance::REGION))
            .endpoint_url(proxy.endpoint())
            .retry_config(RetryConfig::disabled())
            .timeout_config(aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(400)).build())
            .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "proxy-test"))
            .load(),
    );
    let c = AwsClients {
        route53: aws_sdk_route53::Client::new(&conf),
        elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
        ec2: aws_sdk_ec2::Client::new(&conf),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&conf),
    };

    let started = Instant::now();
    let e = upsert(&c, &zone_id, &name, "192.0.2.30").expect_err("timeout");
    assert!(matches!(*e, SdkError::TimeoutError(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_millis(1400), "the client gave up at its own timeout: {:?}", started.elapsed());
    assert!(values_in_localstack(&zone_id, &name).is_empty(), "not yet forwarded");

    // The proxy forwards it anyway once the delay is over, as AWS would still process it.
    assert!(proxy.wait_for("ChangeResourceRecordSets", 1, Duration::from_secs(10)), "the delayed call was never answered");
    assert_eq!(values_in_localstack(&zone_id, &name), ["192.0.2.30"]);
    let call = &proxy.calls()[0];
    assert!(call.forwarded && call.duration >= Duration::from_millis(1500), "{call}");
    assert_eq!((call.upstream_status, call.status), (Some(200), Some(200)), "{call}");
    assert!(proxy.wait_idle(Duration::from_secs(1)));
}

// ---------------------------------------------------------------------------
// What the SDK does by default (standard retry mode, 3 attempts)
// ---------------------------------------------------------------------------

#[test]
fn what_the_sdk_retries_by_default() {
    let (zone_name, zone_id) = zone("pxy");
    let proxy = Proxy::start();
    let c = AwsClients::at(&proxy.endpoint(), RetryConfig::standard());
    let r = |name: &str| format!("{name}.{zone_name}");

    // Each case: the faults for one write (rules in a chain), then the outcome and the calls made.
    let cases: Vec<(&str, Vec<Fault>)> = vec![
        ("throttled", vec![Fault::throttling(), Fault::throttling()]),
        ("prior", vec![Fault::prior_request_not_complete()]),
        ("bare500", vec![Fault::http(500)]),
        ("reset", vec![Fault::connection_reset()]),
        ("invalid", vec![Fault::invalid_change_batch(&["bad"])]),
        ("documented", vec![Fault::InvalidChangeBatchDocumented { messages: vec!["bad".into()] }]),
        ("landed", vec![Fault::forward_then_fail()]),
    ];
    let mut report = Vec::new();
    for (host, faults) in cases {
        proxy.clear_faults();
        proxy.reset();
        for f in faults {
            proxy.inject(f.on("ChangeResourceRecordSets").first(1));
        }
        let name = r(host);
        let started = Instant::now();
        let outcome = change(&c, &zone_id, r53::ChangeAction::Create, a_record(&name, "192.0.2.40"));
        let calls = proxy.calls();
        let attempts: Vec<Option<u32>> = calls.iter().map(|c| c.attempt).collect();
        let ids: std::collections::BTreeSet<_> = calls.iter().map(|c| c.invocation_id.clone()).collect();
        assert_eq!(ids.len(), 1, "one SDK call, one invocation id\n{}", listing(&calls));
        report.push(format!(
            "{host}: {} in {:.1?} → {}\n{}",
            calls.len(),
            started.elapsed(),
            match &outcome {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("{:?} {}", e.code(), e),
            },
            listing(&calls)
        ));
        let codes: Vec<Option<&str>> = calls.iter().map(|c| c.error_code.as_deref()).collect();
        match host {
            "throttled" => assert_eq!((outcome.is_ok(), attempts), (true, vec![Some(1), Some(2), Some(3)]), "{host}"),
            "prior" | "bare500" | "reset" => assert_eq!((outcome.is_ok(), attempts), (true, vec![Some(1), Some(2)]), "{host}"),
            "invalid" | "documented" => assert_eq!((outcome.is_ok(), attempts), (false, vec![Some(1)]), "{host}"),
            // The retry repeats a write that had landed: LocalStack refuses the duplicate CREATE, and the
            // caller sees InvalidChangeBatch for a change that was made.
            "landed" => {
                let e = outcome.expect_err("landed");
                assert_eq!(
                    (e.code(), attempts, codes),
                    (Some("InvalidChangeBatch"), vec![Some(1), Some(2)], vec![Some("InternalFailure"), Some("InvalidChangeBatch")]),
                    "{host}"
                );
                assert_eq!(values_in_localstack(&zone_id, &name), ["192.0.2.40"]);
            }
            _ => unreachable!(),
        }
    }
    println!("{}", report.join("\n"));
}

// ---------------------------------------------------------------------------
// The provider's own traffic
// ---------------------------------------------------------------------------

/// A VPC and an empty target group, made directly in LocalStack: `(name, arn)`.
fn target_group(suffix: &str) -> (String, String) {
    use aws_sdk_elasticloadbalancingv2::types as elb;
    let c = bluegreen_acceptance::aws();
    block_on(async {
        let vpc = c.ec2.create_vpc().cidr_block("10.9.0.0/16").send().await.expect("CreateVpc");
        let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id");
        let name = format!("px-{suffix}");
        let tg = c
            .elbv2
            .create_target_group()
            .name(&name)
            .protocol(elb::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(vpc_id)
            .target_type(elb::TargetTypeEnum::Instance)
            .send()
            .await
            .expect("CreateTargetGroup");
        let arn = tg.target_groups().first().and_then(|t| t.target_group_arn()).expect("target group arn").to_string();
        (name, arn)
    })
}

#[test]
fn the_providers_traffic_is_classified_and_recorded_without_credentials() {
    let suffix = unique_suffix("pxp");
    let (zone_name, _) = fixture::hosted_zone(&suffix);
    let (tg_name, tg_arn) = target_group(&suffix);
    let proxy = Proxy::start();
    let wd = Workdir::new("proxy-plan").with_proxy(&proxy);
    assert_eq!(wd.aws_endpoint(), proxy.endpoint());
    wd.config(&format!(
        r#"data "bluegreen_hosted_zone" "z" {{
  name = "{zone_name}"
}}

data "bluegreen_target_group" "green" {{
  name = "{tg_name}"
}}

resource "bluegreen_switch" "x" {{
  zone_id = data.bluegreen_hosted_zone.z.zone_id
  name    = "www.{zone_name}"

  blue {{
    records = ["192.0.2.1"]
    ttl     = 60
  }}

  green {{
    records = ["192.0.2.2"]
    ttl     = 60
  }}

  traffic = 0
}}

output "green_tg" {{
  value = data.bluegreen_target_group.green.arn
}}
"#
    ));
    let (key, secret, token) = ("AKIAPROXYTESTKEY0042", "proxy/test/secret/key/0042", "proxy-test-session-token-0042");
    let creds = [("AWS_ACCESS_KEY_ID", key), ("AWS_SECRET_ACCESS_KEY", secret), ("AWS_SESSION_TOKEN", token)];
    let ops = |calls: &[Call]| calls.iter().map(|c| format!("{}:{}", c.service, c.operation)).collect::<std::collections::BTreeSet<_>>();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<std::collections::BTreeSet<_>>();

    // The apply: the data sources (the target group's reads its health too), then the switch: one look
    // at the name, one batch of two CREATEs, and no GetChange (LocalStack's changes are INSYNC at once).
    let out = wd.run_with_env(&["apply", "-no-color", "-input=false", "-auto-approve"], &creds);
    out.assert_success();
    assert!(proxy.wait_idle(Duration::from_secs(5)));
    assert_eq!(wd.output("green_tg"), tg_arn.as_str());
    let applied = proxy.calls();
    println!("apply:\n{}", listing(&applied));
    let writes = proxy.calls_to("ChangeResourceRecordSets");
    assert_eq!(writes.iter().map(|c| c.changes).collect::<Vec<_>>(), [Some(2)], "\n{}", listing(&applied));
    assert!(writes[0].body_contains("<Action>CREATE</Action>"), "{:?}", writes[0].body);
    proxy.reset();

    // The plan: the data sources again and a refresh of the switch. Reads only.
    let out = wd.run_with_env(&["plan", "-no-color", "-input=false", "-detailed-exitcode"], &creds);
    assert_eq!(out.code(), Some(0), "an empty plan expected\n{out}");
    assert!(proxy.wait_idle(Duration::from_secs(5)));
    let planned = proxy.calls();
    println!("plan:\n{}counts: {:?}", listing(&planned), proxy.counts());
    // Each provider process checks its credentials once, when configured (sts:GetCallerIdentity).
    let reads = [
        "sts:GetCallerIdentity",
        "route53:ListHostedZonesByName",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "route53:ListResourceRecordSets",
    ];
    assert_eq!(ops(&planned), set(&reads), "\n{}", listing(&planned));
    let mut with_write = reads.to_vec();
    with_write.push("route53:ChangeResourceRecordSets");
    assert_eq!(ops(&applied), set(&with_write), "\n{}", listing(&applied));
    let lists = proxy.calls_to("ListResourceRecordSets");
    assert!(lists.iter().all(|c| c.method == "GET" && c.path.contains(&format!("rrset?name=www.{zone_name}."))), "\n{}", listing(&lists));
    let describes = proxy.calls_to("DescribeTargetGroups");
    assert!(describes.iter().all(|c| c.param("Names.member.1").as_deref() == Some(tg_name.as_str())), "\n{}", listing(&describes));

    let calls: Vec<Call> = applied.into_iter().chain(planned).collect();
    assert!(calls.iter().all(|c| c.status == Some(200) && c.forwarded && !c.injected()), "\n{}", listing(&calls));
    assert!(calls.iter().all(|c| c.attempt == Some(1) && c.invocation_id.is_some()), "\n{}", listing(&calls));

    // No credential anywhere in what was recorded.
    let recorded = format!("{calls:?}");
    for secret in [key, secret, token, "AWS4-HMAC-SHA256", "Signature=", "Credential="] {
        assert!(!recorded.contains(secret), "{secret:?} was recorded:\n{recorded}");
    }
    for c in &calls {
        assert!(
            c.headers.iter().all(|(k, _)| k != "authorization" && k != "x-amz-security-token"),
            "credential headers recorded: {:?}",
            c.headers
        );
        assert!(c.headers.iter().any(|(k, _)| k == "x-amz-date"), "the other headers are kept: {:?}", c.headers);
    }
}

// ---------------------------------------------------------------------------
// Schedules by time and rate, and PENDING changes (issue 12)
// ---------------------------------------------------------------------------

/// `for_duration`: every matching call is throttled for that long after the
/// first one, then none.
#[test]
fn for_duration_fails_calls_for_a_time_then_lets_them_through() {
    let (zone_name, zone_id) = zone("pd");
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    proxy.inject(Fault::throttling().on("ChangeResourceRecordSets").for_duration(Duration::from_millis(600)));
    let started = Instant::now();
    let mut outcomes = Vec::new();
    while started.elapsed() < Duration::from_millis(1200) {
        outcomes.push((started.elapsed(), upsert(&c, &zone_id, &format!("d.{zone_name}"), "192.0.2.1").is_ok()));
        std::thread::sleep(Duration::from_millis(100));
    }
    let early: Vec<bool> = outcomes.iter().filter(|(t, _)| *t < Duration::from_millis(500)).map(|(_, ok)| *ok).collect();
    let late: Vec<bool> = outcomes.iter().filter(|(t, _)| *t > Duration::from_millis(700)).map(|(_, ok)| *ok).collect();
    assert!(!early.is_empty() && early.iter().all(|ok| !ok), "{outcomes:?}");
    assert!(!late.is_empty() && late.iter().all(|ok| *ok), "{outcomes:?}");
    assert!(proxy.faults().iter().all(|c| c.error_code.as_deref() == Some("Throttling")));
}

/// `over_rate`: a burst beyond the bucket is throttled, AWS-shaped; after a
/// pause the bucket has refilled.
#[test]
fn over_rate_throttles_beyond_a_token_bucket() {
    let (_, zone_id) = zone("pr");
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    proxy.inject(Fault::throttling().on_service(ROUTE53).over_rate(5.0, 5));
    let burst: Vec<bool> = (0..10).map(|_| block_on(c.route53.get_hosted_zone().id(&zone_id).send()).is_ok()).collect();
    let throttled = burst.iter().filter(|ok| !**ok).count();
    assert!(burst[..5].iter().all(|ok| *ok), "{burst:?}");
    assert!(throttled >= 3, "a burst of 10 against a bucket of 5: {burst:?}");
    let e = block_on(c.route53.get_hosted_zone().id(&zone_id).send());
    if let Err(e) = &e {
        assert_eq!(e.code(), Some("Throttling"), "AWS-shaped: the SDK reads the code");
    }
    std::thread::sleep(Duration::from_millis(1100));
    assert!(block_on(c.route53.get_hosted_zone().id(&zone_id).send()).is_ok(), "the bucket did not refill");
}

/// `Fault::pending`: the change lands, and the answer (and GetChange) say PENDING.
#[test]
fn pending_reports_a_landed_change_as_pending() {
    let (zone_name, zone_id) = zone("pp");
    let proxy = Proxy::start();
    let c = no_retries(&proxy);
    proxy.inject(Fault::pending().on("ChangeResourceRecordSets"));
    proxy.inject(Fault::pending().on("GetChange").first(1));
    let batch = r53::ChangeBatch::builder()
        .changes(
            r53::Change::builder()
                .action(r53::ChangeAction::Upsert)
                .resource_record_set(a_record(&format!("p.{zone_name}"), "192.0.2.7"))
                .build()
                .expect("change"),
        )
        .build()
        .expect("batch");
    let out = block_on(c.route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch).send()).expect("the write");
    let info = out.change_info().expect("change info");
    assert_eq!(info.status(), &r53::ChangeStatus::Pending);
    assert_eq!(values_in_localstack(&zone_id, &format!("p.{zone_name}")), ["192.0.2.7"], "the change did not land");
    let poll = |c: &AwsClients| {
        block_on(c.route53.get_change().id(info.id()).send()).expect("GetChange").change_info().expect("info").status().clone()
    };
    assert_eq!(poll(&c), r53::ChangeStatus::Pending);
    assert_eq!(poll(&c), r53::ChangeStatus::Insync, "first(1): the second poll is LocalStack's own answer");
}
