//! Moves `api.<zone>` from blue to green, to 50 % through a 25 % step, with a
//! CloudWatch alarm as the gate, then destroys the pair. Runs against
//! LocalStack (`make example`) or any endpoint in `AWS_ENDPOINT_URL`.
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use aws_credential_types::Credentials;
use bluegreen_core::aws::route53::RecordType;
use bluegreen_core::aws::{connect, AwsSettings, Endpoints};
use bluegreen_core::cutover::{self, Created, Cutover};
use bluegreen_core::engine::{OnGateFailure, ShiftPlan};
use bluegreen_core::gate::{AwsGateProbe, HealthGate};
use bluegreen_core::rollout::Rollout;
use bluegreen_core::secret::Secret;
use bluegreen_core::switch::{DnsCutover, OnDestroy, Side, SwitchSpec, Target};
use bluegreen_core::traffic::TrafficSplit;
use bluegreen_core::zone::{SyncOptions, Zones};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context("set AWS_ENDPOINT_URL (LocalStack's URL)")?;
    let suffix = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis());

    // Fixtures, straight through the AWS SDK: a hosted zone and the alarm the gate reads.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region("us-east-1")
        .endpoint_url(&endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "example"))
        .load()
        .await;
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let zone_name = format!("ex-{suffix}.example.com");
    let zone = r53.create_hosted_zone().name(&zone_name).caller_reference(&suffix).send().await?;
    let zone_id = zone.hosted_zone().context("no zone")?.id().rsplit('/').next().unwrap_or_default().to_string();
    let alarm = format!("green-5xx-{suffix}");
    cw.put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("Example")
        .metric_name("Errors")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await?;
    println!("zone {zone_name} ({zone_id}), alarm {alarm}");

    // The engine's clients, pointed at the same endpoint.
    let clients = connect(
        &AwsSettings {
            region: Some("us-east-1".into()),
            access_key: Some(Secret::new("test")),
            secret_key: Some(Secret::new("test")),
            endpoints: Endpoints {
                route53: Some(endpoint.clone()),
                elbv2: Some(endpoint.clone()),
                sts: Some(endpoint.clone()),
                cloudwatch: Some(endpoint.clone()),
            },
            skip_credentials_validation: true,
            ..AwsSettings::default()
        },
        CancellationToken::new(),
    )
    .await?;

    // The cutover: a weighted pair for api.<zone>, blue the legacy servers, green the new ones.
    let side = |id: &str, ip: &str| Side { set_identifier: id.into(), target: Target::Records { values: vec![ip.into()], ttl: 60 } };
    let name = format!("api.{zone_name}.");
    let switch = DnsCutover {
        zone: Zones::new(clients.route53.clone()).zone(&zone_id),
        spec: SwitchSpec {
            name: name.clone(),
            record_type: RecordType::A,
            blue: side("blue", "192.0.2.10"),
            green: side("green", "192.0.2.20"),
            green_health_check_id: None,
        },
        sync: SyncOptions { wait: true, timeout: Duration::from_secs(20) },
        adopt: false,
        on_destroy: OnDestroy::Delete,
        failover: None,
    };
    let plan = ShiftPlan {
        from: TrafficSplit::ALL_BLUE,
        to: TrafficSplit::green_percent(50).context("50 is a percentage")?,
        rollout: Some(Rollout { steps: vec![25], bake: Duration::from_secs(2) }),
        gate: Some(HealthGate { alarms: vec![alarm.clone()], check_interval: Duration::from_secs(1), ..HealthGate::default() }),
        on_gate_failure: OnGateFailure::Rollback,
        gate_already_passed: false,
        observed_traffic: None,
        clock: Default::default(),
    };
    let stop = CancellationToken::new();
    let created = cutover::create(&switch, &AwsGateProbe::new(&clients), &plan, &stop).await;
    let Created::Made { made, report, undo_failed: None } = created else { bail!("the create did not reach its target: {created:?}") };
    println!("created at 0 % green (change {})", made.change.id);
    for (i, change) in report.writes.iter().enumerate() {
        println!("step {}: change {} ({:?})", i + 1, change.id, change.status);
    }
    println!("outcome {:?}, now at {} % green", report.outcome, report.at.green());
    ensure!(report.reached() && report.at.green() == 50, "expected 50 % green, got {report:?}");
    ensure!(report.writes.len() == 2, "expected two writes (25 %, 50 %), got {}", report.writes.len());

    // What Route 53 itself says, read past the engine.
    let records = r53.list_resource_record_sets().hosted_zone_id(&zone_id).send().await?;
    let mut weights: Vec<(String, i64)> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == name)
        .map(|r| (r.set_identifier().unwrap_or_default().to_string(), r.weight().unwrap_or(-1)))
        .collect();
    weights.sort();
    println!("Route 53 weights for {name}: {weights:?}");
    ensure!(weights == [("blue".to_string(), 50), ("green".to_string(), 50)], "unexpected weights {weights:?}");

    // Tear down: the pair (refused while it would move traffic at once, not here: Delete), the alarm, the zone.
    let destroyed = switch.destroy(&stop).await?;
    ensure!(destroyed.unconfirmed.is_none(), "destroy unconfirmed: {:?}", destroyed.unconfirmed);
    let left = r53.list_resource_record_sets().hosted_zone_id(&zone_id).send().await?;
    ensure!(left.resource_record_sets().iter().all(|r| r.name() != name), "records left after the destroy");
    cw.delete_alarms().alarm_names(&alarm).send().await?;
    r53.delete_hosted_zone().id(&zone_id).send().await?;
    println!("destroyed; {:.1} s in all", started.elapsed().as_secs_f64());
    Ok(())
}
