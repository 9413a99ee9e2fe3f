//! AWS objects for the configurations under test to look up.

use crate::{aws, block_on, unique_suffix, AwsClients, REGION};
use anyhow::{anyhow, Context, Result};
use aws_sdk_elasticloadbalancingv2::types as elb;
use aws_sdk_route53::error::DisplayErrorContext;
use aws_sdk_route53::types as r53;

/// Turns an SDK error into one with the whole error chain in its text
/// (an SDK error's own Display is just "service error").
fn sdk<T, E: std::error::Error>(what: &str, r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| anyhow!("{what}: {}", DisplayErrorContext(&e)))
}

/// A weighted record set of the fixture: A records with a TTL.
#[derive(Debug, Clone)]
pub struct WeightedSet {
    pub set_identifier: String,
    pub weight: i64,
    pub ttl: i64,
    pub records: Vec<String>,
}

/// The legacy stack of a cutover, as a test sees it.
#[derive(Debug, Clone)]
pub struct LegacyStack {
    pub suffix: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub lb_name: String,
    pub lb_arn: String,
    pub lb_dns_name: String,
    /// The load balancer's canonical hosted zone id (alias targets use it).
    pub lb_zone_id: String,
    pub lb_scheme: String,
    /// The HTTP:80 listener, forwarding to `tg_arn`.
    pub listener_arn: String,
    pub listener_port: i32,
    /// Target group with two registered (healthy) targets.
    pub tg_name: String,
    pub tg_arn: String,
    pub tg_port: i32,
    pub target_ids: Vec<String>,
    /// Target group with no targets.
    pub empty_tg_name: String,
    pub empty_tg_arn: String,
    /// The public hosted zone `<suffix>.example.com` (no trailing dot).
    pub zone_name: String,
    /// Its bare id (`Z…`, without `/hostedzone/`).
    pub zone_id: String,
    /// Record sets in the zone once the fixture is complete, as Route 53 counts them.
    pub zone_record_count: i64,
    /// `api.<zone>`: a simple A alias to the load balancer, evaluate_target_health = true.
    pub alias_record_name: String,
    /// `app.<zone>`: two weighted A record sets.
    pub weighted_name: String,
    pub weighted: Vec<WeightedSet>,
}

/// A VPC with two subnets, an internet-facing ALB with an HTTP:80
/// listener forwarding to a target group with two registered targets
/// (healthy at once in LocalStack), an empty target group, and a public
/// hosted zone `<suffix>.example.com` holding `api.` (simple alias to
/// the ALB) and `app.` (a weighted pair). Panics on failure.
pub fn legacy_stack(suffix: &str) -> LegacyStack {
    block_on(create_legacy_stack(aws(), suffix)).unwrap_or_else(|e| panic!("creating the legacy stack fixture {suffix}: {e:#}"))
}

/// A further HTTP listener on the stack's ALB at `port`, forwarding to its target group, so that a test's rules
/// never meet another's. Returns its ARN. Panics on failure.
pub fn extra_listener(stack: &LegacyStack, port: i32) -> String {
    block_on(async {
        let forward = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&stack.tg_arn).build();
        let out = sdk(
            "CreateListener",
            aws()
                .elbv2
                .create_listener()
                .load_balancer_arn(&stack.lb_arn)
                .protocol(elb::ProtocolEnum::Http)
                .port(port)
                .default_actions(forward)
                .send()
                .await,
        )?;
        out.listeners().first().and_then(|l| l.listener_arn()).map(str::to_string).context("CreateListener returned no ARN")
    })
    .unwrap_or_else(|e| panic!("creating a listener on port {port} of {}: {e:#}", stack.suffix))
}

/// A "green" target group `green-<suffix>` (HTTP:8080, instance
/// targets) in the stack's VPC, with `targets` registered (healthy at
/// once in LocalStack). Returns its ARN. Panics on failure.
pub fn green_target_group(stack: &LegacyStack, targets: &[String]) -> String {
    block_on(async {
        let c = &aws().elbv2;
        let out = sdk(
            "CreateTargetGroup",
            c.create_target_group()
                .name(format!("green-{}", stack.suffix))
                .protocol(elb::ProtocolEnum::Http)
                .port(8080)
                .vpc_id(&stack.vpc_id)
                .target_type(elb::TargetTypeEnum::Instance)
                .send()
                .await,
        )?;
        let arn = out.target_groups().first().and_then(|t| t.target_group_arn()).context("CreateTargetGroup returned no ARN")?.to_string();
        let targets = targets.iter().map(|id| elb::TargetDescription::builder().id(id).port(8080).build()).collect();
        sdk("RegisterTargets", c.register_targets().target_group_arn(&arn).set_targets(Some(targets)).send().await)?;
        Ok::<_, anyhow::Error>(arn)
    })
    .unwrap_or_else(|e| panic!("creating the green target group of {}: {e:#}", stack.suffix))
}

/// Just a public hosted zone `<suffix>.example.com`; returns its bare id.
pub fn hosted_zone(suffix: &str) -> (String, String) {
    let name = format!("{suffix}.example.com");
    let id = block_on(create_zone(aws(), &name)).unwrap_or_else(|e| panic!("creating hosted zone {name}: {e:#}"));
    (name, id)
}

async fn create_zone(c: &AwsClients, name: &str) -> Result<String> {
    let out = sdk(
        "CreateHostedZone",
        c.route53.create_hosted_zone().name(name).caller_reference(format!("acc-{name}-{}", unique_suffix(""))).send().await,
    )?;
    let id = out.hosted_zone().map(|z| z.id().to_string()).context("CreateHostedZone returned no zone")?;
    Ok(id.rsplit('/').next().unwrap_or(&id).to_string())
}

async fn create_legacy_stack(c: &AwsClients, suffix: &str) -> Result<LegacyStack> {
    // Network: the ALB needs two subnets in different AZs of one VPC.
    let vpc = sdk("CreateVpc", c.ec2.create_vpc().cidr_block("10.0.0.0/16").send().await)?;
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).context("CreateVpc returned no id")?.to_string();
    let mut subnet_ids = Vec::new();
    for (i, az) in ["a", "b"].iter().enumerate() {
        let s = sdk(
            "CreateSubnet",
            c.ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.0.{}.0/24", i + 1))
                .availability_zone(format!("{REGION}{az}"))
                .send()
                .await,
        )?;
        subnet_ids.push(s.subnet().and_then(|s| s.subnet_id()).context("CreateSubnet returned no id")?.to_string());
    }

    // Load balancer, target groups, listener.
    let lb_name = format!("legacy-{suffix}");
    let lbs = sdk(
        "CreateLoadBalancer",
        c.elbv2
            .create_load_balancer()
            .name(&lb_name)
            .set_subnets(Some(subnet_ids.clone()))
            .r#type(elb::LoadBalancerTypeEnum::Application)
            .scheme(elb::LoadBalancerSchemeEnum::InternetFacing)
            .send()
            .await,
    )?;
    let lb = lbs.load_balancers().first().context("CreateLoadBalancer returned no load balancer")?;
    let lb_arn = lb.load_balancer_arn().context("no LB arn")?.to_string();
    let lb_dns_name = lb.dns_name().context("no LB dns name")?.to_string();
    let lb_zone_id = lb.canonical_hosted_zone_id().context("no LB canonical hosted zone id")?.to_string();
    let lb_scheme = lb.scheme().context("no LB scheme")?.as_str().to_string();

    let tg_port = 8080;
    let create_tg = |name: String| {
        let req = c
            .elbv2
            .create_target_group()
            .name(name)
            .protocol(elb::ProtocolEnum::Http)
            .port(tg_port)
            .vpc_id(&vpc_id)
            .target_type(elb::TargetTypeEnum::Instance);
        async move {
            let out = sdk("CreateTargetGroup", req.send().await)?;
            out.target_groups().first().and_then(|t| t.target_group_arn()).map(str::to_string).context("CreateTargetGroup returned no arn")
        }
    };
    let tg_name = format!("live-{suffix}");
    let tg_arn = create_tg(tg_name.clone()).await?;
    let empty_tg_name = format!("empty-{suffix}");
    let empty_tg_arn = create_tg(empty_tg_name.clone()).await?;

    // RegisterTargets does not check that the instances exist; LocalStack reports them healthy.
    let target_ids = vec!["i-0a1b2c3d4e5f60001".to_string(), "i-0a1b2c3d4e5f60002".to_string()];
    let targets = target_ids.iter().map(|id| elb::TargetDescription::builder().id(id).port(tg_port).build()).collect();
    sdk("RegisterTargets", c.elbv2.register_targets().target_group_arn(&tg_arn).set_targets(Some(targets)).send().await)?;

    let listener_port = 80;
    let forward = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg_arn).build();
    let listeners = sdk(
        "CreateListener",
        c.elbv2
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(listener_port)
            .default_actions(forward)
            .send()
            .await,
    )?;
    let listener_arn = listeners.listeners().first().and_then(|l| l.listener_arn()).context("CreateListener returned no arn")?.to_string();

    // DNS: the zone, the simple alias and the weighted pair.
    let zone_name = format!("{suffix}.example.com");
    let zone_id = create_zone(c, &zone_name).await?;
    let alias_record_name = format!("api.{zone_name}");
    let weighted_name = format!("app.{zone_name}");
    // SetIdentifiers unique across the zone: LocalStack deletes by SetIdentifier alone.
    let weighted = vec![
        WeightedSet { set_identifier: format!("blue-{suffix}"), weight: 90, ttl: 60, records: vec!["10.0.1.10".into()] },
        WeightedSet {
            set_identifier: format!("green-{suffix}"),
            weight: 10,
            ttl: 30,
            records: vec!["10.0.2.20".into(), "10.0.2.21".into()],
        },
    ];
    let mut changes = vec![r53::Change::builder()
        .action(r53::ChangeAction::Create)
        .resource_record_set(
            r53::ResourceRecordSet::builder()
                .name(&alias_record_name)
                .r#type(r53::RrType::A)
                .alias_target(
                    r53::AliasTarget::builder().dns_name(&lb_dns_name).hosted_zone_id(&lb_zone_id).evaluate_target_health(true).build()?,
                )
                .build()?,
        )
        .build()?];
    for w in &weighted {
        let records =
            w.records.iter().map(|v| r53::ResourceRecord::builder().value(v).build()).collect::<std::result::Result<Vec<_>, _>>()?;
        changes.push(
            r53::Change::builder()
                .action(r53::ChangeAction::Create)
                .resource_record_set(
                    r53::ResourceRecordSet::builder()
                        .name(&weighted_name)
                        .r#type(r53::RrType::A)
                        .set_identifier(&w.set_identifier)
                        .weight(w.weight)
                        .ttl(w.ttl)
                        .set_resource_records(Some(records))
                        .build()?,
                )
                .build()?,
        );
    }
    sdk(
        "ChangeResourceRecordSets",
        c.route53
            .change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(r53::ChangeBatch::builder().set_changes(Some(changes)).build()?)
            .send()
            .await,
    )?;
    let zone = sdk("GetHostedZone", c.route53.get_hosted_zone().id(&zone_id).send().await)?;
    let zone_record_count = zone.hosted_zone().and_then(|z| z.resource_record_set_count()).context("GetHostedZone: no record count")?;

    Ok(LegacyStack {
        suffix: suffix.to_string(),
        vpc_id,
        subnet_ids,
        lb_name,
        lb_arn,
        lb_dns_name,
        lb_zone_id,
        lb_scheme,
        listener_arn,
        listener_port,
        tg_name,
        tg_arn,
        tg_port,
        target_ids,
        empty_tg_name,
        empty_tg_arn,
        zone_name,
        zone_id,
        zone_record_count,
        alias_record_name,
        weighted_name,
        weighted,
    })
}

// ---- ELBv2 listener rules, as the canary tests see them ----

/// The rules of `listener` other than its default one, as ELBv2 returns them. Panics on failure.
pub fn listener_rules(listener: &str) -> Vec<elb::Rule> {
    block_on(aws().elbv2.describe_rules().listener_arn(listener).send())
        .unwrap_or_else(|e| panic!("DescribeRules {listener}: {}", DisplayErrorContext(&e)))
        .rules()
        .iter()
        .filter(|r| !r.is_default().unwrap_or(false))
        .cloned()
        .collect()
}

/// `(blue, green)`: the forward weights rule `rule_arn` of `listener` gives
/// the target groups `blue` and `green` (0 for a group it does not forward
/// to). Panics if there is no such rule.
pub fn rule_weights(listener: &str, rule_arn: &str, blue: &str, green: &str) -> (i32, i32) {
    let r = listener_rules(listener).into_iter().find(|r| r.rule_arn() == Some(rule_arn)).unwrap_or_else(|| panic!("no rule {rule_arn}"));
    let mut w = (0, 0);
    for action in r.actions() {
        for tg in action.forward_config().map(|f| f.target_groups()).unwrap_or_default() {
            let weight = tg.weight().unwrap_or(1);
            match tg.target_group_arn() {
                Some(arn) if arn == blue => w.0 += weight,
                Some(arn) if arn == green => w.1 += weight,
                _ => {}
            }
        }
    }
    w
}

// ---- Route 53 records, as the switch tests see and disturb them ----

/// One read of a name by a [`NamePoller`], `at` after it started.
#[derive(Debug, Clone)]
pub struct Poll {
    pub at: std::time::Duration,
    /// `Err` when the call failed (that is not an observation of no records).
    pub sets: std::result::Result<Vec<RecordView>, String>,
}

/// Reads one name from LocalStack (directly, not through a proxy) on a
/// thread and a runtime of its own, so the polls do not queue behind
/// other SDK calls, until stopped: to check a name answers throughout
/// an apply.
pub struct NamePoller {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    started: std::time::Instant,
    handle: Option<std::thread::JoinHandle<Vec<Poll>>>,
}

impl NamePoller {
    /// Starts reading `name`, pausing `pause` between reads (none: as
    /// fast as one thread can).
    pub fn start(zone_id: &str, name: &str, pause: std::time::Duration) -> NamePoller {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let started = std::time::Instant::now();
        let (flag, zone_id, name) = (stop.clone(), zone_id.to_string(), name.to_string());
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            let mut polls = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let sets = rt
                    .block_on(raw_record_sets(&zone_id, &name))
                    .map(|v| v.iter().map(RecordView::from_sdk).collect())
                    .map_err(|e| format!("{e:#}"));
                polls.push(Poll { at: started.elapsed(), sets });
                if !pause.is_zero() {
                    std::thread::sleep(pause);
                }
            }
            polls
        });
        NamePoller { stop, started, handle: Some(handle) }
    }

    /// Time since the poller started (the clock of [`Poll::at`]).
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Stops, and returns every poll in order.
    pub fn stop(mut self) -> Vec<Poll> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().expect("running").join().expect("poller thread")
    }
}

impl Drop for NamePoller {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One record set as a test compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    /// As Route 53 returns it (trailing dot).
    pub name: String,
    pub record_type: String,
    pub set_identifier: Option<String>,
    pub weight: Option<i64>,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    pub alias: Option<AliasView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasView {
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

impl RecordView {
    pub fn from_sdk(r: &r53::ResourceRecordSet) -> RecordView {
        RecordView {
            name: r.name().to_string(),
            record_type: r.r#type().as_str().to_string(),
            set_identifier: r.set_identifier().map(str::to_string),
            weight: r.weight(),
            ttl: r.ttl(),
            values: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
            alias: r.alias_target().map(|a| AliasView {
                dns_name: a.dns_name().to_string(),
                hosted_zone_id: a.hosted_zone_id().to_string(),
                evaluate_target_health: a.evaluate_target_health(),
            }),
        }
    }
}

/// `name` lower-cased with a trailing dot, as Route 53 (LocalStack) returns it.
pub fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

/// Every record set of `name` (any type) in the zone, in Route 53's
/// order, as the SDK returns them: one ListResourceRecordSets call.
pub async fn raw_record_sets(zone_id: &str, name: &str) -> Result<Vec<r53::ResourceRecordSet>> {
    let want = fqdn(name);
    let out = sdk(
        "ListResourceRecordSets",
        aws().route53.list_resource_record_sets().hosted_zone_id(zone_id).start_record_name(&want).max_items(300).send().await,
    )?;
    Ok(out.resource_record_sets().iter().filter(|r| r.name().eq_ignore_ascii_case(&want)).cloned().collect())
}

/// Every record set of `name` (any type) in the zone. Panics on failure.
pub fn record_sets(zone_id: &str, name: &str) -> Vec<RecordView> {
    block_on(raw_record_sets(zone_id, name))
        .unwrap_or_else(|e| panic!("listing {name} in {zone_id}: {e:#}"))
        .iter()
        .map(RecordView::from_sdk)
        .collect()
}

/// `(set_identifier, weight)` of every weighted record set of `name`, sorted by identifier.
pub fn weights(zone_id: &str, name: &str) -> Vec<(String, i64)> {
    let mut w: Vec<(String, i64)> =
        record_sets(zone_id, name).into_iter().filter_map(|r| Some((r.set_identifier?, r.weight.unwrap_or(-1)))).collect();
    w.sort();
    w
}

/// Submits one ChangeResourceRecordSets batch. Panics on failure.
pub fn change_record_sets(zone_id: &str, changes: Vec<(r53::ChangeAction, r53::ResourceRecordSet)>) {
    let f = async {
        let changes = changes
            .into_iter()
            .map(|(action, rrs)| r53::Change::builder().action(action).resource_record_set(rrs).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        sdk(
            "ChangeResourceRecordSets",
            aws()
                .route53
                .change_resource_record_sets()
                .hosted_zone_id(zone_id)
                .change_batch(r53::ChangeBatch::builder().set_changes(Some(changes)).build()?)
                .send()
                .await,
        )?;
        Ok::<_, anyhow::Error>(())
    };
    block_on(f).unwrap_or_else(|e| panic!("changing record sets in {zone_id}: {e:#}"));
}

/// Creates a simple (not weighted) A alias record `name` → `dns_name`.
pub fn simple_alias_record(zone_id: &str, name: &str, dns_name: &str, target_zone_id: &str, evaluate_target_health: bool) {
    let rrs = r53::ResourceRecordSet::builder()
        .name(fqdn(name))
        .r#type(r53::RrType::A)
        .alias_target(
            r53::AliasTarget::builder()
                .dns_name(dns_name)
                .hosted_zone_id(target_zone_id)
                .evaluate_target_health(evaluate_target_health)
                .build()
                .expect("alias target"),
        )
        .build()
        .expect("record set");
    change_record_sets(zone_id, vec![(r53::ChangeAction::Create, rrs)]);
}

/// Creates a simple (not weighted) A record `name` with `values` and `ttl`.
pub fn simple_a_record(zone_id: &str, name: &str, values: &[&str], ttl: i64) {
    let rrs = r53::ResourceRecordSet::builder()
        .name(fqdn(name))
        .r#type(r53::RrType::A)
        .ttl(ttl)
        .set_resource_records(Some(values.iter().map(|v| r53::ResourceRecord::builder().value(*v).build().expect("record")).collect()))
        .build()
        .expect("record set");
    change_record_sets(zone_id, vec![(r53::ChangeAction::Create, rrs)]);
}

fn weighted_set(zone_id: &str, name: &str, set_identifier: &str) -> r53::ResourceRecordSet {
    let all = block_on(raw_record_sets(zone_id, name)).unwrap_or_else(|e| panic!("listing {name}: {e:#}"));
    all.into_iter()
        .find(|r| r.set_identifier() == Some(set_identifier))
        .unwrap_or_else(|| panic!("{name} has no record set with set identifier {set_identifier:?} in zone {zone_id}"))
}

/// Out-of-band weight changes: UPSERTs the named weighted sets of
/// `name` with new weights (targets unchanged), in one batch.
pub fn set_weights(zone_id: &str, name: &str, weights: &[(&str, i64)]) {
    let changes = weights
        .iter()
        .map(|(id, w)| {
            let mut rrs = weighted_set(zone_id, name, id);
            rrs.weight = Some(*w);
            (r53::ChangeAction::Upsert, rrs)
        })
        .collect();
    change_record_sets(zone_id, changes);
}

/// Out-of-band deletion of weighted sets of `name`, in one batch. (In
/// LocalStack this deletes every record of the zone with that identifier.)
pub fn delete_weighted(zone_id: &str, name: &str, set_identifiers: &[&str]) {
    let changes = set_identifiers.iter().map(|id| (r53::ChangeAction::Delete, weighted_set(zone_id, name, id))).collect();
    change_record_sets(zone_id, changes);
}

/// A metric alarm on `<namespace>` `Errors`, Sum over 60 s > 0: any error put breaches it, and with no data it is
/// INSUFFICIENT_DATA. Panics on failure.
pub fn errors_alarm(name: &str, namespace: &str) {
    use aws_sdk_cloudwatch::types as cw;
    block_on(
        aws()
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace(namespace)
            .metric_name("Errors")
            .statistic(cw::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(0.0)
            .comparison_operator(cw::ComparisonOperator::GreaterThanThreshold)
            .send(),
    )
    .unwrap_or_else(|e| panic!("PutMetricAlarm {name}: {}", aws_sdk_cloudwatch::error::DisplayErrorContext(&e)));
}
