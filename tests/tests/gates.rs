//! Gates on what users see (issue 13), against LocalStack's CloudWatch with
//! terraform 1.0.3: alarms block an increase or roll a bake back, green's
//! 5xx rate (absolute and against blue) and latency (`Average`: LocalStack
//! has no percentiles) from metrics put into CloudWatch, the "not judged"
//! message, observed traffic after a DNS step, and the CloudWatch calls a
//! hundred canaries baking at once cost, counted by the recording proxy.
//!
//! LocalStack evaluates alarms itself and resets a state set with
//! SetAlarmState unless the metric data agrees, so an alarm is driven by
//! putting data that breaches it *and* setting the state (REFERENCE §7).
//!
//! `cargo test -p bluegreen-acceptance --test gates -- --test-threads=4`

use std::thread;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::types as cw;
use aws_sdk_elasticloadbalancingv2::types as elb;
use bluegreen_acceptance::proxy::{Fault, Proxy, CLOUDWATCH};
use bluegreen_acceptance::{aws, block_on, fixture, unique_suffix, Diagnostic, Output, Workdir};
use serde_json::Value;

// ---------------------------------------------------------------------------
// CloudWatch fixtures
// ---------------------------------------------------------------------------

/// An alarm on `Gates/<name>` `Errors` (Sum over 60 s > 0): any error put breaches it.
fn create_alarm(name: &str) {
    fixture::errors_alarm(name, &format!("Gates/{name}"));
}

/// Puts breaching data (so LocalStack's own evaluation agrees), then sets ALARM, until DescribeAlarms reports ALARM
/// half a second later: LocalStack evaluates a new alarm on a thread of its own, and an evaluation that lands after
/// SetAlarmState, before the data counts, resets the state (seen in CI: the gate then found no alarm firing).
fn trip_alarm(name: &str, reason: &str) {
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs();
    let stamps = [SystemTime::now(), SystemTime::UNIX_EPOCH + Duration::from_secs(secs.saturating_sub(60))];
    for attempt in 0..20 {
        for at in stamps.iter().chain(minutes().iter()) {
            let datum = cw::MetricDatum::builder().metric_name("Errors").value(5.0).timestamp((*at).into()).build();
            block_on(aws().cloudwatch.put_metric_data().namespace(format!("Gates/{name}")).metric_data(datum).send())
                .unwrap_or_else(|e| panic!("PutMetricData {name}: {}", DisplayErrorContext(&e)));
        }
        block_on(aws().cloudwatch.set_alarm_state().alarm_name(name).state_value(cw::StateValue::Alarm).state_reason(reason).send())
            .unwrap_or_else(|e| panic!("SetAlarmState {name}: {}", DisplayErrorContext(&e)));
        std::thread::sleep(Duration::from_millis(500));
        let out = block_on(aws().cloudwatch.describe_alarms().alarm_names(name).send())
            .unwrap_or_else(|e| panic!("DescribeAlarms {name}: {}", DisplayErrorContext(&e)));
        if out.metric_alarms().first().and_then(|a| a.state_value()) == Some(&cw::StateValue::Alarm) {
            return;
        }
        println!("---- alarm {name} did not stay in ALARM (attempt {attempt}); again");
    }
    panic!("alarm {name} never stayed in ALARM");
}

fn dimension(name: &str, value: String) -> cw::Dimension {
    cw::Dimension::builder().name(name).value(value).build()
}

/// `…:targetgroup/x/y` → `targetgroup/x/y`; `…:loadbalancer/app/x/y` → `app/x/y`.
fn tg_dim(arn: &str) -> String {
    format!("targetgroup/{}", arn.split_once(":targetgroup/").expect("a target group ARN").1)
}
fn lb_dim(arn: &str) -> String {
    arn.split_once(":loadbalancer/").expect("a load balancer ARN").1.to_string()
}

/// Gates read windows of whole minutes ending with the minute in progress;
/// data is put for this minute and the next, so that a test crossing a
/// minute boundary still finds it (each window holds one of the two). Both
/// at half past, never on a minute boundary, where LocalStack's windows
/// disagree with CloudWatch's about which minute a point belongs to.
fn minutes() -> [SystemTime; 2] {
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs();
    let half_past = SystemTime::UNIX_EPOCH + Duration::from_secs(secs / 60 * 60 + 30);
    [half_past, half_past + Duration::from_secs(60)]
}

/// What a target group served this minute, as an ALB would publish it
/// (TargetGroup + LoadBalancer dimensions).
fn put_target_group_metrics(tg: &str, lb: &str, requests: f64, errors: f64, response_time: Option<f64>) {
    for now in minutes() {
        put_target_group_metrics_at(tg, lb, requests, errors, response_time, now);
    }
}

fn put_target_group_metrics_at(tg: &str, lb: &str, requests: f64, errors: f64, response_time: Option<f64>, now: SystemTime) {
    let dims = vec![dimension("TargetGroup", tg_dim(tg)), dimension("LoadBalancer", lb_dim(lb))];
    let mut data = vec![
        cw::MetricDatum::builder()
            .metric_name("RequestCount")
            .set_dimensions(Some(dims.clone()))
            .value(requests)
            .timestamp(now.into())
            .build(),
        cw::MetricDatum::builder()
            .metric_name("HTTPCode_Target_5XX_Count")
            .set_dimensions(Some(dims.clone()))
            .value(errors)
            .timestamp(now.into())
            .build(),
    ];
    if let Some(t) = response_time {
        data.push(
            cw::MetricDatum::builder().metric_name("TargetResponseTime").set_dimensions(Some(dims)).value(t).timestamp(now.into()).build(),
        );
    }
    block_on(aws().cloudwatch.put_metric_data().namespace("AWS/ApplicationELB").set_metric_data(Some(data)).send())
        .unwrap_or_else(|e| panic!("PutMetricData: {}", DisplayErrorContext(&e)));
}

/// A load balancer's own RequestCount this minute (LoadBalancer dimension).
fn put_load_balancer_requests(lb: &str, requests: f64) {
    for now in minutes() {
        let d = cw::MetricDatum::builder()
            .metric_name("RequestCount")
            .dimensions(dimension("LoadBalancer", lb_dim(lb)))
            .value(requests)
            .timestamp(now.into())
            .build();
        block_on(aws().cloudwatch.put_metric_data().namespace("AWS/ApplicationELB").metric_data(d).send())
            .unwrap_or_else(|e| panic!("PutMetricData: {}", DisplayErrorContext(&e)));
    }
}

// ---------------------------------------------------------------------------
// Canary fixtures and views
// ---------------------------------------------------------------------------

struct Env {
    s: fixture::LegacyStack,
    green_tg: String,
}

fn env(prefix: &str) -> Env {
    let s = fixture::legacy_stack(&unique_suffix(prefix));
    let green_tg = fixture::green_target_group(&s, &["i-0feedfacecafe0001".to_string()]);
    Env { s, green_tg }
}

fn canary_tf(e: &Env, traffic: i64, extra: &str) -> String {
    format!(
        "resource \"canary_listener\" \"x\" {{\n  provider = bluegreen\n  listener_arn = \"{}\"\n  priority = 10\n  match {{\n    host_header = [\"api.example.com\"]\n  }}\n  blue_target_group_arn = \"{}\"\n  green_target_group_arn = \"{}\"\n  traffic = {traffic}\n{extra}}}\n",
        e.s.listener_arn, e.s.tg_arn, e.green_tg
    )
}

fn rollout(steps: &str, bake: &str) -> String {
    format!("  rollout {{\n    steps = [{steps}]\n    bake_time = \"{bake}\"\n  }}\n")
}

/// `(blue, green)` weights of the rule forwarding to green.
fn weights(e: &Env) -> Option<(i32, i32)> {
    let out = block_on(aws().elbv2.describe_rules().listener_arn(&e.s.listener_arn).send()).expect("DescribeRules");
    out.rules().iter().find_map(|r| {
        let f = r.actions().iter().find(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward))?.forward_config()?;
        let w = |tg: &str| f.target_groups().iter().find(|t| t.target_group_arn() == Some(tg)).and_then(|t| t.weight());
        Some((w(&e.s.tg_arn)?, w(&e.green_tg)?))
    })
}

fn state(wd: &Workdir, address: &str) -> Value {
    let show = wd.show_json();
    show["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == address)
        .map(|r| r["values"].clone())
        .unwrap_or_else(|| panic!("{address} is not in the state: {show:#}"))
}

/// Applies in the background; once the canary is at `(blue, green)` runs
/// `act` and returns the apply's output with the time `act` finished.
fn apply_then_at(wd: &Workdir, at: (i32, i32), mut ready: impl FnMut() -> Option<(i32, i32)>, act: impl FnOnce()) -> (Output, Instant) {
    thread::scope(|sc| {
        let apply = sc.spawn(|| wd.apply_output(&[]));
        let t = Instant::now();
        loop {
            if ready() == Some(at) {
                act();
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(120) && !apply.is_finished(), "never saw the step {at:?}");
            thread::sleep(Duration::from_millis(100));
        }
        let acted = Instant::now();
        (apply.join().expect("apply thread"), acted)
    })
}

/// The canary `e` gated by `extra` (rollout and health_gate blocks), set up at 0 %, then asked for 50 % through a
/// 10 % step; `act` runs once ELBv2 is at 90/10. The twin of [`switch_step_then`].
fn canary_step_then(e: Env, name: &str, extra: &str, act: impl FnOnce(&Env)) -> CanaryRun {
    let wd = Workdir::new(&format!("gates-{name}"));
    wd.config(&canary_tf(&e, 0, extra));
    wd.apply(&[]);
    wd.config(&canary_tf(&e, 50, extra));
    let (out, acted) = apply_then_at(&wd, (90, 10), || weights(&e), || act(&e));
    CanaryRun { out, acted, wd, e }
}

struct CanaryRun {
    out: Output,
    acted: Instant,
    wd: Workdir,
    e: Env,
}

impl CanaryRun {
    /// The apply failed with one gate error and rolled back: ELBv2 and the state at 0 %, and a refresh finds nothing.
    #[track_caller]
    fn rolled_back(&self) -> Diagnostic {
        self.out.assert_failure();
        let d = self.out.only_error();
        assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%");
        assert_back_at_zero(&self.wd, &self.e);
        d
    }
}

/// The canary after a failed increase: state and ELBv2 both at 0 % green.
#[track_caller]
fn assert_back_at_zero(wd: &Workdir, e: &Env) {
    assert_eq!(weights(e), Some((100, 0)), "ELBv2 weights (blue, green)");
    assert_eq!(state(wd, "canary_listener.x")["traffic"], 0);
    let refresh = wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
    assert_eq!(refresh.code(), Some(0), "state differs from AWS\n{refresh}");
}

// ---------------------------------------------------------------------------
// Alarms
// ---------------------------------------------------------------------------

#[test]
fn an_alarm_in_alarm_blocks_an_increase() {
    let e = env("ga");
    let alarm = format!("green-5xx-{}", e.s.suffix);
    create_alarm(&alarm);
    trip_alarm(&alarm, "Threshold Crossed: 1 datapoint [5.0] was greater than the threshold (0.0).");
    let wd = Workdir::new("gates-alarm-blocks");
    let gate = format!("  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n  }}\n");
    wd.config(&canary_tf(&e, 50, &gate));
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- an alarm in ALARM before the first increase, as terraform prints it:\n{}\n", out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic not increased");
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" is ALARM: Threshold Crossed")), "{d}");
    assert_eq!(weights(&e), None, "nothing was created");
}

#[test]
fn a_missing_alarm_is_a_plan_error_listing_it() {
    let e = env("gm");
    let wd = Workdir::new("gates-alarm-missing");
    let present = format!("present-{}", e.s.suffix);
    create_alarm(&present);
    let gate = format!("  health_gate {{\n    cloudwatch_alarms = [\"{present}\", \"nope-1\", \"nope-2\"]\n  }}\n");
    wd.config(&canary_tf(&e, 50, &gate));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    assert_eq!(d.summary, "CloudWatch alarm not found");
    assert!(d.detail().contains("no alarm named \"nope-1\", \"nope-2\" in this account and region"), "{d}");
    // Which account and region (issue 19): LocalStack's account, the harness's region.
    assert!(d.detail().contains("The provider looked in account 000000000000, region us-east-1."), "{d}");
    assert!(out.stderr.contains("cloudwatch_alarms = ["), "points at the attribute\n{out}");
}

#[test]
fn a_decrease_is_not_refused_for_a_missing_alarm() {
    let e = env("gd");
    let alarm = format!("soon-gone-{}", e.s.suffix);
    create_alarm(&alarm);
    let wd = Workdir::new("gates-decrease");
    let gate = format!("  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n  }}\n");
    wd.config(&canary_tf(&e, 20, &gate));
    wd.apply(&[]);
    block_on(aws().cloudwatch.delete_alarms().alarm_names(&alarm).send()).expect("DeleteAlarms");
    // Going up is refused at plan; going back is not.
    wd.config(&canary_tf(&e, 50, &gate));
    assert_eq!(wd.plan_output(&[]).only_error().summary, "CloudWatch alarm not found");
    wd.config(&canary_tf(&e, 0, &gate));
    wd.apply(&[]);
    assert_back_at_zero(&wd, &e);
}

#[test]
fn an_alarm_tripped_mid_bake_rolls_back_within_one_interval() {
    let e = env("gi");
    let alarm = format!("green-errors-{}", e.s.suffix);
    create_alarm(&alarm);
    let extra =
        format!("{}  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n    check_interval = \"3s\"\n  }}\n", rollout("10", "2m"));
    let run = canary_step_then(e, "alarm-mid-bake", &extra, |_| trip_alarm(&alarm, "Threshold Crossed: test"));
    let took = run.acted.elapsed();
    let d = run.rolled_back();
    println!("---- an alarm tripped during the bake, as terraform prints it (apply ended {took:.1?} after):\n{}\n", run.out.stderr.trim());
    // The reason is ours ("Threshold Crossed: test") or, when LocalStack's own evaluation of the breaching data lands
    // after SetAlarmState, LocalStack's ("Threshold Crossed"): either way the alarm and the step are named.
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" is ALARM: Threshold Crossed")), "{d}");
    assert!(d.detail().contains("(at step 10 %)"), "{d}");
    // One interval (3 s) plus the gather (0.5 s), the way back and terraform writing state.
    assert!(took < Duration::from_secs(12), "rolled back {took:?} after the alarm tripped");
}

/// ALARM, then OK a moment later: a flap no check lands on (their ticks are seconds apart). LocalStack's own
/// evaluation of the alarm (no data) may move it on to INSUFFICIENT_DATA; either way the history holds the ALARM.
fn flap_alarm(name: &str) {
    for state in [cw::StateValue::Alarm, cw::StateValue::Ok] {
        block_on(aws().cloudwatch.set_alarm_state().alarm_name(name).state_value(state).state_reason("flap (test)").send())
            .unwrap_or_else(|e| panic!("SetAlarmState {name}: {}", DisplayErrorContext(&e)));
    }
}

/// Now, as `ignore_before` takes it (RFC 3339, UTC).
fn rfc3339_now() -> String {
    use aws_sdk_cloudwatch::primitives::{DateTime, DateTimeFormat};
    DateTime::from(SystemTime::now()).fmt(DateTimeFormat::DateTime).expect("a time")
}

#[test]
fn an_alarm_that_flapped_between_two_applies_refuses_the_increase_until_ignore_before() {
    let e = env("gf");
    let alarm = format!("green-flap-{}", e.s.suffix);
    create_alarm(&alarm);
    let gate = |extra: &str| format!("  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n{extra}  }}\n");
    let wd = Workdir::new("gates-flap-between-applies");
    wd.config(&canary_tf(&e, 10, &gate("")));
    wd.apply(&[]);
    // Overnight, between two applies: the alarm fires and clears.
    thread::sleep(Duration::from_secs(1));
    flap_alarm(&alarm);
    wd.config(&canary_tf(&e, 20, &gate("")));
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- an alarm that fired and cleared between two applies, as terraform prints it:\n{}\n", out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic not increased");
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" ")), "{d}");
    assert!(d.detail().contains("ALARM") && d.detail().contains(", when this split was reached"), "{d}");
    assert!(d.detail().contains("set health_gate.ignore_before to a time after it"), "{d}");
    assert!(out.stderr.contains("cloudwatch_alarms = ["), "points at the alarms\n{out}");
    assert_eq!(weights(&e), Some((90, 10)), "nothing moved");
    // Reviewed: history before now is not judged any more, and the increase goes ahead.
    thread::sleep(Duration::from_secs(1));
    let reviewed = rfc3339_now();
    wd.config(&canary_tf(&e, 20, &gate(&format!("    ignore_before = \"{reviewed}\"\n"))));
    wd.apply(&[]);
    assert_eq!(weights(&e), Some((80, 20)));
    // A time in the future is refused at plan, pointing at the attribute.
    wd.config(&canary_tf(&e, 30, &gate("    ignore_before = \"2099-01-01T00:00:00Z\"\n")));
    let out = wd.plan_output(&[]);
    out.assert_failure();
    assert_eq!(out.only_error().summary, "ignore_before is in the future");
    assert!(out.stderr.contains("ignore_before = \"2099-01-01T00:00:00Z\""), "{out}");
}

#[test]
fn an_alarm_that_fires_and_clears_between_two_checks_of_a_bake_rolls_back() {
    let e = env("gk");
    let alarm = format!("green-blip-{}", e.s.suffix);
    create_alarm(&alarm);
    let extra =
        format!("{}  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n    check_interval = \"20s\"\n  }}\n", rollout("10", "2m"));
    let run = canary_step_then(e, "alarm-blip-mid-bake", &extra, |_| {
        thread::sleep(Duration::from_secs(2));
        flap_alarm(&alarm);
    });
    let took = run.acted.elapsed();
    let d = run.rolled_back();
    println!(
        "---- an alarm in ALARM for a moment between two checks of a bake (apply ended {took:.1?} after):\n{}\n",
        run.out.stderr.trim()
    );
    // Not its state at a check (OK or INSUFFICIENT_DATA by then): its history.
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" ")) && d.detail().contains(", when this split was reached"), "{d}");
    assert!(d.detail().contains("(at step 10 %)"), "{d}");
    // At the next check: one interval (20 s) plus the gather, the way back and terraform writing state.
    assert!(took < Duration::from_secs(32), "rolled back {took:?} after the alarm fired");
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

fn error_rate_gate(extra: &str) -> String {
    format!("  health_gate {{\n    check_interval = \"2s\"\n    error_rate {{\n      window = \"1m\"\n      min_requests = 100\n      max_percent = 1.0\n{extra}    }}\n  }}\n")
}

#[test]
fn a_5xx_rate_over_max_percent_rolls_back() {
    let extra = format!("{}{}", rollout("10", "2m"), error_rate_gate(""));
    let run = canary_step_then(env("ge"), "error-rate", &extra, |e| put_target_group_metrics(&e.green_tg, &e.s.lb_arn, 1000.0, 32.0, None));
    let d = run.rolled_back();
    println!("---- green's 5xx rate over max_percent, as terraform prints it:\n{}\n", run.out.stderr.trim());
    assert!(d.detail().contains("green's 5xx rate is 3.2 % (32 of 1000 requests in the last 1m); max_percent = 1"), "{d}");
    assert!(run.out.stderr.contains("max_percent = 1.0"), "points at max_percent\n{}", run.out);
}

#[test]
fn green_worse_than_blue_by_more_than_allowed_rolls_back() {
    let extra = format!("{}{}", rollout("10", "2m"), error_rate_gate("      max_percent_over_blue = 0.5\n"));
    let run = canary_step_then(env("gb"), "error-rate-blue", &extra, |e| {
        put_target_group_metrics(&e.s.tg_arn, &e.s.lb_arn, 5000.0, 10.0, None); // blue 0.2 %
        put_target_group_metrics(&e.green_tg, &e.s.lb_arn, 1000.0, 8.0, None); // green 0.8 %: under max_percent
    });
    let d = run.rolled_back();
    assert!(
        d.detail().contains("green's 5xx rate is 0.8 % (8 of 1000 requests in the last 1m), blue's 0.2 % (10 of 5000): 0.6 points above blue; max_percent_over_blue = 0.5"),
        "{d}"
    );
}

#[test]
fn too_few_requests_fail_at_the_end_of_the_bake_saying_why() {
    let e = env("gn");
    let wd = Workdir::new("gates-not-judged");
    let extra = format!("{}{}", rollout("1", "8s"), error_rate_gate(""));
    wd.config(&canary_tf(&e, 0, &extra));
    wd.apply(&[]);
    put_target_group_metrics(&e.green_tg, &e.s.lb_arn, 3.0, 0.0, None);
    wd.config(&canary_tf(&e, 50, &extra));
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- a canary at 1 % that cannot be judged, as terraform prints it:\n{}\n", out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%");
    let detail = d.detail();
    assert!(
        detail.contains("not judged by the end of the bake: green received 3 request(s) in the last 1m, fewer than min_requests = 100"),
        "{d}"
    );
    assert!(detail.contains("raise the step, lengthen bake_time or error_rate.window, or lower min_requests"), "{d}");
    assert_back_at_zero(&wd, &e);
}

#[test]
fn average_latency_over_max_rolls_back() {
    let gate = "  health_gate {\n    check_interval = \"2s\"\n    latency {\n      window = \"1m\"\n      min_requests = 10\n      statistic = \"Average\"\n      max = \"800ms\"\n    }\n  }\n";
    let extra = format!("{}{gate}", rollout("10", "2m"));
    let run = canary_step_then(env("gl"), "latency", &extra, |e| put_target_group_metrics(&e.green_tg, &e.s.lb_arn, 200.0, 0.0, Some(1.5)));
    let d = run.rolled_back();
    assert!(d.detail().contains("green's Average response time is 1500 ms over the last 1m; max = 800ms"), "{d}");
}

/// Thirty seconds of CloudWatch throttling (RPC v2 CBOR errors, as CloudWatch sends them) in the middle of a bake:
/// the gate's reads are retried like every other call, the bake waits and the apply reaches its target.
#[test]
fn a_gate_rides_out_thirty_seconds_of_cloudwatch_throttling() {
    let e = env("gt");
    let alarm = format!("green-5xx-{}", e.s.suffix);
    create_alarm(&alarm);
    let proxy = Proxy::start();
    let wd = Workdir::new("gates-cw-throttled").with_proxy(&proxy);
    let extra =
        format!("{}  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n    check_interval = \"2s\"\n  }}\n", rollout("10", "20s"));
    wd.config(&canary_tf(&e, 0, &extra));
    wd.apply(&[]);
    wd.config(&canary_tf(&e, 50, &extra));
    let (out, _) = apply_then_at(
        &wd,
        (90, 10),
        || weights(&e),
        || proxy.inject(Fault::throttling().on_service(CLOUDWATCH).for_duration(Duration::from_secs(30))),
    );
    out.assert_success();
    let throttled: Vec<_> = proxy.faults().into_iter().filter(|c| c.service == CLOUDWATCH).collect();
    let span = throttled.last().map(|l| l.at - throttled[0].at).unwrap_or_default();
    println!("---- 30 s of CloudWatch throttling mid-bake: {} throttled answers over {span:.1?}; apply passed", throttled.len());
    assert!(throttled.len() >= 3, "CloudWatch was hardly throttled: {throttled:?}");
    assert!(throttled.iter().all(|c| c.error_code.as_deref() == Some("Throttling")));
    assert!(span + Duration::from_secs(8) >= Duration::from_secs(30), "the throttling did not last: {span:?}");
    assert_eq!(weights(&e), Some((50, 50)));
    assert_eq!(state(&wd, "canary_listener.x")["traffic"], 50);
}

#[test]
fn bad_gate_values_are_validate_errors_with_paths() {
    let e = env("gv");
    let wd = Workdir::new("gates-validate");
    let long = "a".repeat(256);
    let gate = &format!("  health_gate {{\n    cloudwatch_alarms = [\"{long}\"]\n    check_interval = \"10m\"\n    error_rate {{\n      window = \"90s\"\n      max_percent = 101\n    }}\n    latency {{\n      statistic = \"p42\"\n      max = \"fast\"\n    }}\n  }}\n");
    wd.config(&canary_tf(&e, 50, gate));
    let proxy = Proxy::start();
    let wd = wd.with_proxy(&proxy);
    let out = wd.validate_output();
    out.assert_failure();
    let summaries: Vec<String> = out.errors().iter().map(|d| d.summary.clone()).collect();
    for want in
        ["Invalid cloudwatch_alarms", "Invalid check_interval", "Invalid window", "Invalid max_percent", "Invalid statistic", "Invalid max"]
    {
        assert!(summaries.iter().any(|s| s == want), "no {want:?} in {summaries:?}\n{out}");
    }
    assert!(proxy.calls().is_empty(), "validate made AWS calls: {:?}", proxy.counts());
}

// ---------------------------------------------------------------------------
// Observed traffic (bluegreen_switch)
// ---------------------------------------------------------------------------

fn switch_tf(blue: &fixture::LegacyStack, green: &fixture::LegacyStack, traffic: i64, timeout: &str) -> String {
    let observed = format!(
        "    observed_traffic {{\n      blue_load_balancer_arn = \"{}\"\n      green_load_balancer_arn = \"{}\"\n      tolerance = 10\n      timeout = \"{timeout}\"\n    }}\n",
        blue.lb_arn, green.lb_arn
    );
    let gate = format!("    target_group_arns = [\"{}\"]\n    check_interval = \"2s\"\n", green.tg_arn);
    switch_with(blue, green, traffic, "1s", &observed, &gate)
}

/// A switch from `blue`'s load balancer to `green`'s, in `blue`'s zone; `observed` goes in `rollout`, `gate` in
/// `health_gate`.
fn switch_with(blue: &fixture::LegacyStack, green: &fixture::LegacyStack, traffic: i64, bake: &str, observed: &str, gate: &str) -> String {
    format!(
        "resource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{zone}\"\n  name = \"shop.{zname}\"\n  blue {{\n    alias {{\n      name = \"{bdns}\"\n      zone_id = \"{bz}\"\n    }}\n  }}\n  green {{\n    alias {{\n      name = \"{gdns}\"\n      zone_id = \"{gz}\"\n    }}\n  }}\n  traffic = {traffic}\n  rollout {{\n    steps = [50]\n    bake_time = \"{bake}\"\n{observed}  }}\n  health_gate {{\n{gate}  }}\n}}\n",
        zone = blue.zone_id,
        zname = blue.zone_name,
        bdns = blue.lb_dns_name,
        bz = blue.lb_zone_id,
        gdns = green.lb_dns_name,
        gz = green.lb_zone_id,
    )
}

fn switch_weights(zone: &str, name: &str) -> Vec<(String, i64)> {
    fixture::weights(zone, name)
}

/// `(blue, green)` weights of the switch's pair.
fn pair(zone: &str, name: &str) -> Option<(i32, i32)> {
    let w = switch_weights(zone, name);
    let of = |id: &str| w.iter().find(|(s, _)| s == id).map(|(_, v)| *v as i32);
    Some((of("blue")?, of("green")?))
}

#[test]
fn switch_an_alarm_that_flapped_between_two_applies_refuses_the_increase_until_ignore_before() {
    let blue = fixture::legacy_stack(&unique_suffix("sf"));
    let green = fixture::legacy_stack(&unique_suffix("sg"));
    let alarm = format!("green-flap-{}", green.suffix);
    create_alarm(&alarm);
    let wd = Workdir::new("gates-switch-flap");
    let gate = format!("    cloudwatch_alarms = [\"{alarm}\"]\n");
    wd.config(&switch_with(&blue, &green, 20, "1s", "", &gate));
    wd.apply(&[]);
    thread::sleep(Duration::from_secs(1));
    flap_alarm(&alarm);
    wd.config(&switch_with(&blue, &green, 40, "1s", "", &gate));
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- a switch whose alarm fired and cleared between two applies, as terraform prints it:\n{}\n", out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic not increased");
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" ")) && d.detail().contains(", when this split was reached"), "{d}");
    assert_eq!(pair(&blue.zone_id, &format!("shop.{}", blue.zone_name)), Some((80, 20)), "nothing moved");
    thread::sleep(Duration::from_secs(1));
    let gate = format!("{gate}    ignore_before = \"{}\"\n", rfc3339_now());
    wd.config(&switch_with(&blue, &green, 40, "1s", "", &gate));
    wd.apply(&[]);
    assert_eq!(pair(&blue.zone_id, &format!("shop.{}", blue.zone_name)), Some((60, 40)));
}

#[test]
fn switch_an_alarm_in_alarm_blocks_an_increase() {
    let blue = fixture::legacy_stack(&unique_suffix("sa"));
    let green = fixture::legacy_stack(&unique_suffix("sg"));
    let alarm = format!("green-5xx-{}", green.suffix);
    create_alarm(&alarm);
    let wd = Workdir::new("gates-switch-alarm");
    let gate = format!("    cloudwatch_alarms = [\"{alarm}\"]\n");
    wd.config(&switch_with(&blue, &green, 0, "1s", "", &gate));
    wd.apply(&[]);
    trip_alarm(&alarm, "Threshold Crossed: test");
    wd.config(&switch_with(&blue, &green, 100, "1s", "", &gate));
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    assert_eq!(d.summary, "Health gate failed: traffic not increased");
    // Our reason or LocalStack's own evaluation's (see an_alarm_tripped_mid_bake_rolls_back_within_one_interval).
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" is ALARM: Threshold Crossed")), "{d}");
    assert_eq!(pair(&blue.zone_id, &format!("shop.{}", blue.zone_name)), Some((100, 0)));
    assert_eq!(state(&wd, "bluegreen_switch.x")["traffic"], 0);
}

#[test]
fn switch_a_5xx_rate_over_max_percent_rolls_back() {
    let blue = fixture::legacy_stack(&unique_suffix("se"));
    let green = fixture::legacy_stack(&unique_suffix("sf"));
    let wd = Workdir::new("gates-switch-error-rate");
    let gate = format!(
        "    check_interval = \"2s\"\n    error_rate {{\n      green_target_group_arn = \"{}\"\n      window = \"1m\"\n      min_requests = 100\n      max_percent = 1.0\n    }}\n",
        green.tg_arn
    );
    wd.config(&switch_with(&blue, &green, 0, "2m", "", &gate));
    wd.apply(&[]);
    wd.config(&switch_with(&blue, &green, 100, "2m", "", &gate));
    let name = format!("shop.{}", blue.zone_name);
    let (out, _) = apply_then_at(
        &wd,
        (50, 50),
        || pair(&blue.zone_id, &name),
        || put_target_group_metrics(&green.tg_arn, &green.lb_arn, 1000.0, 32.0, None),
    );
    out.assert_failure();
    let d = out.only_error();
    println!("---- a switch whose green answers 3.2 % 5xx, as terraform prints it:\n{}\n", out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%");
    assert!(d.detail().contains("green's 5xx rate is 3.2 % (32 of 1000 requests in the last 1m); max_percent = 1 (at step 50 %)"), "{d}");
    assert_eq!(pair(&blue.zone_id, &name), Some((100, 0)));
    assert_eq!(state(&wd, "bluegreen_switch.x")["traffic"], 0);
    let refresh = wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
    assert_eq!(refresh.code(), Some(0), "state differs from AWS\n{refresh}");
}

/// A switch whose gate is `gate` (inside `health_gate`), set up at 0 %, then asked for 100 % through a 50 % step
/// baking `bake`; `act` runs once Route 53 is at 50/50. Returns the apply's output and when `act` finished.
fn switch_step_then(prefix: &str, bake: &str, gate: &str, act: impl FnOnce(&fixture::LegacyStack, &fixture::LegacyStack)) -> SwitchRun {
    let blue = fixture::legacy_stack(&unique_suffix(&format!("{prefix}b")));
    let green = fixture::legacy_stack(&unique_suffix(&format!("{prefix}g")));
    let wd = Workdir::new(&format!("gates-switch-{prefix}"));
    let gate = gate.replace("GREEN_TG", &green.tg_arn).replace("BLUE_TG", &blue.tg_arn);
    wd.config(&switch_with(&blue, &green, 0, bake, "", &gate));
    wd.apply(&[]);
    wd.config(&switch_with(&blue, &green, 100, bake, "", &gate));
    let name = format!("shop.{}", blue.zone_name);
    let (out, acted) = apply_then_at(&wd, (50, 50), || pair(&blue.zone_id, &name), || act(&blue, &green));
    SwitchRun { out, acted, wd, zone: blue.zone_id.clone(), name }
}

struct SwitchRun {
    out: Output,
    acted: Instant,
    wd: Workdir,
    zone: String,
    name: String,
}

impl SwitchRun {
    /// The apply failed with one gate error, rolled back: Route 53 and the state at 0 %, and a refresh finds nothing.
    #[track_caller]
    fn rolled_back(&self) -> Diagnostic {
        self.out.assert_failure();
        let d = self.out.only_error();
        assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%");
        assert_eq!(pair(&self.zone, &self.name), Some((100, 0)));
        assert_eq!(state(&self.wd, "bluegreen_switch.x")["traffic"], 0);
        let refresh = self.wd.plan_output(&["-refresh-only", "-detailed-exitcode"]);
        assert_eq!(refresh.code(), Some(0), "state differs from AWS\n{refresh}");
        d
    }
}

#[test]
fn switch_an_alarm_tripped_mid_bake_rolls_back_within_one_interval() {
    let alarm = format!("green-errors-{}", unique_suffix("sm"));
    create_alarm(&alarm);
    let gate = format!("    cloudwatch_alarms = [\"{alarm}\"]\n    check_interval = \"3s\"\n");
    let run = switch_step_then("sm", "2m", &gate, |_, _| trip_alarm(&alarm, "Threshold Crossed: test"));
    let took = run.acted.elapsed();
    let d = run.rolled_back();
    println!(
        "---- a switch whose alarm trips during the bake, as terraform prints it (apply ended {took:.1?} after):\n{}\n",
        run.out.stderr.trim()
    );
    // Our reason or LocalStack's own evaluation's (see an_alarm_tripped_mid_bake_rolls_back_within_one_interval).
    assert!(d.detail().contains(&format!("alarm \"{alarm}\" is ALARM: Threshold Crossed")), "{d}");
    assert!(d.detail().contains("(at step 50 %)"), "{d}");
    // One interval (3 s) plus the gather (0.5 s), the way back (Route 53 INSYNC) and terraform writing state.
    assert!(took < Duration::from_secs(12), "rolled back {took:?} after the alarm tripped");
}

#[test]
fn switch_green_worse_than_blue_by_more_than_allowed_rolls_back() {
    let gate = "    check_interval = \"2s\"\n    error_rate {\n      green_target_group_arn = \"GREEN_TG\"\n      blue_target_group_arn = \"BLUE_TG\"\n      window = \"1m\"\n      min_requests = 100\n      max_percent = 1.0\n      max_percent_over_blue = 0.5\n    }\n";
    let run = switch_step_then("sw", "2m", gate, |blue, green| {
        put_target_group_metrics(&blue.tg_arn, &blue.lb_arn, 5000.0, 10.0, None); // blue 0.2 %
        put_target_group_metrics(&green.tg_arn, &green.lb_arn, 1000.0, 8.0, None);
        // green 0.8 %: under max_percent
    });
    let d = run.rolled_back();
    assert!(
        d.detail().contains("green's 5xx rate is 0.8 % (8 of 1000 requests in the last 1m), blue's 0.2 % (10 of 5000): 0.6 points above blue; max_percent_over_blue = 0.5 (at step 50 %)"),
        "{d}"
    );
}

#[test]
fn switch_too_few_requests_fail_at_the_end_of_the_bake_saying_why() {
    let gate = "    check_interval = \"2s\"\n    error_rate {\n      green_target_group_arn = \"GREEN_TG\"\n      window = \"1m\"\n      min_requests = 100\n      max_percent = 1.0\n    }\n";
    let run = switch_step_then("sn", "8s", gate, |_, green| put_target_group_metrics(&green.tg_arn, &green.lb_arn, 3.0, 0.0, None));
    let d = run.rolled_back();
    assert!(
        d.detail().contains("not judged by the end of the bake: green received 3 request(s) in the last 1m, fewer than min_requests = 100"),
        "{d}"
    );
    assert!(d.detail().contains("raise the step, lengthen bake_time or error_rate.window, or lower min_requests"), "{d}");
}

#[test]
fn switch_average_latency_over_max_rolls_back() {
    let gate = "    check_interval = \"2s\"\n    latency {\n      green_target_group_arn = \"GREEN_TG\"\n      window = \"1m\"\n      min_requests = 10\n      statistic = \"Average\"\n      max = \"800ms\"\n    }\n";
    let run = switch_step_then("sl", "2m", gate, |_, green| put_target_group_metrics(&green.tg_arn, &green.lb_arn, 200.0, 0.0, Some(1.5)));
    let d = run.rolled_back();
    assert!(d.detail().contains("green's Average response time is 1500 ms over the last 1m; max = 800ms (at step 50 %)"), "{d}");
}

#[test]
fn observed_traffic_stuck_at_two_percent_fails_at_the_timeout() {
    let blue = fixture::legacy_stack(&unique_suffix("ob"));
    let green = fixture::legacy_stack(&unique_suffix("og"));
    let wd = Workdir::new("gates-observed-stuck");
    wd.config(&switch_tf(&blue, &green, 0, "12s"));
    wd.apply(&[]);
    put_load_balancer_requests(&blue.lb_arn, 980.0);
    put_load_balancer_requests(&green.lb_arn, 20.0);
    wd.config(&switch_tf(&blue, &green, 100, "12s"));
    let t = Instant::now();
    let out = wd.apply_output(&[]);
    out.assert_failure();
    let d = out.only_error();
    println!("---- clients not following a DNS step, as terraform prints it ({:.1?}):\n{}\n", t.elapsed(), out.stderr.trim());
    assert_eq!(d.summary, "Health gate failed: traffic rolled back to 0%");
    assert!(d.detail().contains("2 % observed at step 50 % after 12s"), "{d}");
    assert!(t.elapsed() >= Duration::from_secs(12), "waited for the timeout");
    let s = state(&wd, "bluegreen_switch.x");
    assert_eq!(s["traffic"], 0);
    let name = format!("shop.{}", blue.zone_name);
    assert!(
        switch_weights(&blue.zone_id, &name).iter().all(|(id, w)| (id == "green") == (*w == 0)),
        "{:?}",
        switch_weights(&blue.zone_id, &name)
    );
}

/// Clients that follow the weights: every half second, each load balancer gets requests in proportion to the
/// switch's weights, in volumes that double every second since the weights last changed, so the last minute's share
/// soon follows a change (as resolvers' caches expire).
fn clients_following(zone: &str, name: &str, blue_lb: &str, green_lb: &str, until: &std::sync::atomic::AtomicBool) {
    let mut last = None;
    let mut since = Instant::now();
    while !until.load(std::sync::atomic::Ordering::Relaxed) {
        let now = pair(zone, name);
        if now != last {
            (last, since) = (now, Instant::now());
        }
        if let Some((b, g)) = now {
            let k = 2f64.powf(since.elapsed().as_secs_f64().min(20.0));
            put_load_balancer_requests(blue_lb, f64::from(b) * k);
            put_load_balancer_requests(green_lb, f64::from(g) * k);
        }
        thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn observed_traffic_that_follows_the_step_passes() {
    let blue = fixture::legacy_stack(&unique_suffix("pb"));
    let green = fixture::legacy_stack(&unique_suffix("pg"));
    let wd = Workdir::new("gates-observed-follows");
    wd.config(&switch_tf(&blue, &green, 0, "2m"));
    wd.apply(&[]);
    wd.config(&switch_tf(&blue, &green, 100, "2m"));
    let name = format!("shop.{}", blue.zone_name);
    let done = std::sync::atomic::AtomicBool::new(false);
    let out = thread::scope(|sc| {
        sc.spawn(|| clients_following(&blue.zone_id, &name, &blue.lb_arn, &green.lb_arn, &done));
        let out = wd.run_with_env(&["apply", "-no-color", "-input=false", "-auto-approve", "-parallelism=1"], &[("TF_LOG", "INFO")]);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        out
    });
    out.assert_success();
    assert_eq!(state(&wd, "bluegreen_switch.x")["traffic"], 100);
    // Each step, the target too, waited for the clients and said so (at INFO).
    for step in [50, 100] {
        let seen = out.stderr.lines().find(|l| l.contains(&format!("of requests at step {step} %")));
        println!("---- step {step}: {}", seen.unwrap_or("(none)"));
        assert!(seen.is_some(), "no observation at step {step}\n{out}");
    }
}

// ---------------------------------------------------------------------------
// Shared work: a hundred canaries baking at once
// ---------------------------------------------------------------------------

#[test]
fn a_hundred_canaries_baking_cost_at_most_three_cloudwatch_calls_per_interval() {
    // Terraform 1.0 hands the hundred applies out one at a time, ~100 ms apart, and a busy machine makes gates reach
    // the shared reader late: they wait for the round in flight rather than opening another.
    const N: usize = 100;
    let e = env("gh");
    let mut tf = String::new();
    for i in 0..N {
        let alarm = format!("c{i}-{}", e.s.suffix);
        create_alarm(&alarm);
        tf.push_str(&format!(
            "resource \"canary_listener\" \"c{i}\" {{\n  provider = bluegreen\n  listener_arn = \"{}\"\n  priority = {}\n  match {{\n    path_pattern = [\"/c{i}/*\"]\n  }}\n  blue_target_group_arn = \"{}\"\n  green_target_group_arn = \"{}\"\n  traffic = 20\n{}  health_gate {{\n    cloudwatch_alarms = [\"{alarm}\"]\n    check_interval = \"5s\"\n    error_rate {{\n      window = \"1m\"\n      min_requests = 1\n      max_percent = 5\n    }}\n  }}\n}}\n",
            e.s.listener_arn,
            100 + i,
            e.s.tg_arn,
            e.green_tg,
            rollout("10", "40s")
        ));
    }
    // Green keeps serving while the canaries bake: fresh data every 10 s, so the 1-minute window always has some
    // however long the apply takes (Terraform 1.0 starts the hundred applies one by one, and a busy machine stretches
    // that past a minute).
    let serving = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let feeder = {
        let (serving, green, lb) = (serving.clone(), e.green_tg.clone(), e.s.lb_arn.clone());
        std::thread::spawn(move || {
            while serving.load(std::sync::atomic::Ordering::Relaxed) {
                put_target_group_metrics(&green, &lb, 1000.0, 1.0, None);
                for _ in 0..20 {
                    if !serving.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        })
    };
    let proxy = Proxy::start();
    let wd = Workdir::new("gates-hundred").with_proxy(&proxy).with_timeout(Duration::from_secs(600));
    wd.config(&tf);
    let t = Instant::now();
    let out = wd.apply_output(&["-parallelism=100"]);
    serving.store(false, std::sync::atomic::Ordering::Relaxed);
    feeder.join().expect("the metrics feeder");
    out.assert_success();
    let took = t.elapsed();
    let calls = proxy.calls();
    let cw: Vec<_> = calls.iter().filter(|c| c.service == "monitoring").collect();
    let count = |op: &str| cw.iter().filter(|c| c.operation == op).count();
    // The bake: from the last canary reaching 10 % to the first one going on to 20 %.
    let writes: Vec<_> = calls.iter().filter(|c| c.operation == "CreateRule" || c.operation == "ModifyRule").collect();
    let at_10 = writes.iter().filter(|c| c.body.contains("Weight=90")).map(|c| c.at).max().expect("the 10 % step");
    let at_20 = writes.iter().filter(|c| c.body.contains("Weight=80")).map(|c| c.at).min().expect("the 20 % step");
    let in_bake: Vec<_> = cw.iter().filter(|c| c.at > at_10 && c.at < at_20).collect();
    let mut per_interval = std::collections::BTreeMap::<u64, usize>::new();
    for c in &in_bake {
        *per_interval.entry(c.at.as_secs() / 5).or_default() += 1;
    }
    println!(
        "---- {N} canaries, check_interval 5s, bake 40s: apply took {took:.1?}; CloudWatch calls in all: {} DescribeAlarms, \
         {} DescribeAlarmHistory, {} GetMetricData; during the common bake ({:.1?}): {} calls, by 5 s window {:?}",
        count("DescribeAlarms"),
        count("DescribeAlarmHistory"),
        count("GetMetricData"),
        at_20.saturating_sub(at_10),
        in_bake.len(),
        per_interval.values().collect::<Vec<_>>()
    );
    assert!(at_20 > at_10, "the bakes overlapped: all at 10 % before any moved on");
    let intervals = (at_20 - at_10).as_secs_f64() / 5.0;
    // DescribeAlarms, DescribeAlarmHistory (every alarm's, for the time since each canary reached 10 %) and
    // GetMetricData, once a tick for the hundred.
    assert!(
        (in_bake.len() as f64) <= 3.0 * (intervals.ceil() + 1.0),
        "{} CloudWatch calls in {intervals:.1} intervals: more than 3 per interval",
        in_bake.len()
    );
    assert!(in_bake.iter().any(|c| c.operation == "DescribeAlarmHistory"), "the alarms' history was read during the bake");
    assert!(!in_bake.is_empty(), "the gates were checked during the bake");
}
