//! Tests of the zone: reads, batching and INSYNC together.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::batch::{batch_comment, Cost};
use super::*;
use crate::aws::route53::Routing;
use crate::aws::route53::{Change, ChangeAction, ChangeInfo, ChangeStatus, RecordSet, RecordType};
use crate::dns::canonical_name;
use crate::testing::{FakeRoute53, Fault};
use futures::future::join_all;

const Z: &str = "ZBATCH";

fn weighted(name: &str, id: &str, weight: u8, ip: &str) -> RecordSet {
    RecordSet {
        name: canonical_name(name),
        record_type: RecordType::A,
        routing: Routing::Weighted { set_identifier: id.into(), weight },
        ttl: Some(60),
        records: vec![ip.into()],
        alias: None,
        health_check_id: None,
    }
}

fn name(i: usize) -> String {
    format!("svc{i:04}.example.com.")
}

/// A zone holding `n` blue/green pairs.
fn zone_with_pairs(n: usize) -> (Arc<FakeRoute53>, Zone) {
    let fake = Arc::new(FakeRoute53::new());
    fake.add_zone(Z, "example.com");
    for i in 0..n {
        fake.put(Z, weighted(&name(i), "blue", 100, "192.0.2.1"));
        fake.put(Z, weighted(&name(i), "green", 0, "192.0.2.2"));
    }
    (fake.clone(), Zone::new(Z.into(), fake))
}

fn upsert(i: usize, green: u8) -> Vec<Change> {
    vec![
        Change { action: ChangeAction::Upsert, record: weighted(&name(i), "blue", 100 - green, "192.0.2.1") },
        Change { action: ChangeAction::Upsert, record: weighted(&name(i), "green", green, "192.0.2.2") },
    ]
}

fn green_weight(sets: &[RecordSet]) -> Option<u8> {
    sets.iter().find_map(|r| match &r.routing {
        Routing::Weighted { set_identifier, weight } if set_identifier == "green" => Some(*weight),
        _ => None,
    })
}

#[tokio::test(start_paused = true)]
async fn reads_of_many_names_share_one_paginated_listing() {
    // 700 pairs = 1,400 record sets: 5 pages of 300.
    let (fake, zone) = zone_with_pairs(700);
    let reads = join_all((0..700).map(|i| {
        let zone = &zone;
        async move { zone.record_sets(&name(i), &RecordType::A).await.unwrap() }
    }))
    .await;
    assert!(reads.iter().all(|sets| sets.len() == 2 && green_weight(sets) == Some(0)));
    // The fake, like LocalStack, ignores StartRecordIdentifier: a page may
    // start again at the first set of its name, so at most one extra page.
    let pages = fake.calls("ListResourceRecordSets");
    assert!((5..=6).contains(&pages), "{pages} ListResourceRecordSets calls for 700 names");
}

#[tokio::test(start_paused = true)]
async fn reads_see_this_process_s_writes_without_listing_again() {
    let (fake, zone) = zone_with_pairs(3);
    // Alone, the first read asks for its name only.
    assert_eq!(green_weight(&zone.record_sets(&name(1), &RecordType::A).await.unwrap()), Some(0));
    assert_eq!(fake.calls("ListResourceRecordSets"), 1);
    zone.change("shift", &upsert(1, 40)).await.unwrap();
    assert_eq!(green_weight(&zone.record_sets(&name(1), &RecordType::A).await.unwrap()), Some(40));
    assert_eq!(fake.calls("ListResourceRecordSets"), 1, "a known name is served from memory");
    // A second name: the whole zone is listed, once.
    assert_eq!(zone.record_sets(&name(2), &RecordType::A).await.unwrap().len(), 2);
    assert_eq!(fake.calls("ListResourceRecordSets"), 2);
    let delete = vec![Change { action: ChangeAction::Delete, record: weighted(&name(2), "green", 0, "192.0.2.2") }];
    zone.change("delete", &delete).await.unwrap();
    let create = vec![Change { action: ChangeAction::Create, record: weighted("new.example.com", "green", 0, "192.0.2.2") }];
    zone.change("create", &create).await.unwrap();
    assert_eq!(zone.record_sets(&name(2), &RecordType::A).await.unwrap().len(), 1);
    assert_eq!(
        zone.record_sets("new.example.com", &RecordType::A).await.unwrap(),
        create[0..1].iter().map(|c| c.record.clone()).collect::<Vec<_>>()
    );
    assert!(zone.record_sets("none.example.com", &RecordType::A).await.unwrap().is_empty());
    assert_eq!(fake.calls("ListResourceRecordSets"), 2);

    // An out-of-band change is seen once the listing has aged.
    fake.put(Z, weighted(&name(0), "green", 7, "192.0.2.2"));
    assert_eq!(green_weight(&zone.record_sets(&name(0), &RecordType::A).await.unwrap()), Some(0));
    tokio::time::advance(SNAPSHOT_MAX_AGE).await;
    assert_eq!(green_weight(&zone.record_sets(&name(0), &RecordType::A).await.unwrap()), Some(7));
    assert_eq!(fake.calls("ListResourceRecordSets"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_write_under_another_spelling_of_a_name_is_seen_by_reads_of_the_name() {
    let (fake, zone) = zone_with_pairs(3);
    // Known from a listing of the zone.
    zone.record_sets(&name(1), &RecordType::A).await.unwrap();
    zone.record_sets(&name(2), &RecordType::A).await.unwrap();
    let listings = fake.calls("ListResourceRecordSets");
    // Written as a caller spelled it: upper case, no trailing dot.
    let shout = |r: RecordSet| RecordSet { name: name(1).trim_end_matches('.').to_ascii_uppercase(), ..r };
    let changes: Vec<Change> = upsert(1, 40).into_iter().map(|c| Change { record: shout(c.record), ..c }).collect();
    zone.change("shift", &changes).await.unwrap();
    let sets = zone.record_sets(&name(1), &RecordType::A).await.unwrap();
    assert_eq!((sets.len(), green_weight(&sets)), (2, Some(40)), "one pair, at 40: {sets:?}");
    assert!(sets.iter().all(|r| r.name == name(1)), "cached under the canonical name");
    assert_eq!(fake.calls("ListResourceRecordSets"), listings, "served from what this process wrote");
}

#[tokio::test(start_paused = true)]
async fn a_write_with_an_unknown_outcome_makes_its_names_read_again() {
    let (fake, zone) = zone_with_pairs(2);
    zone.record_sets(&name(0), &RecordType::A).await.unwrap();
    fake.fault("ChangeResourceRecordSets", Fault::ApplyThenFail);
    let e = zone.change("shift", &upsert(0, 30)).await.unwrap_err();
    assert_eq!(e.kind, AwsErrorKind::Ambiguous);
    // The change landed; the name is read again, not taken from memory.
    assert_eq!(green_weight(&zone.record_sets(&name(0), &RecordType::A).await.unwrap()), Some(30));
    assert_eq!(fake.calls("ListResourceRecordSets"), 2);
    zone.record_sets(&name(0), &RecordType::A).await.unwrap();
    zone.record_sets(&name(1), &RecordType::A).await.unwrap();
    assert_eq!(fake.calls("ListResourceRecordSets"), 2, "fresh again after one read");
}

#[tokio::test(start_paused = true)]
async fn concurrent_writes_to_a_zone_go_out_as_one_batch() {
    let (fake, zone) = zone_with_pairs(20);
    let results = join_all((0..20).map(|i| {
        let zone = &zone;
        async move { zone.change(&format!("switch {i}"), &upsert(i, 10)).await }
    }))
    .await;
    let ids: HashSet<String> = results.into_iter().map(|r| r.unwrap().id).collect();
    assert_eq!(ids.len(), 1, "every caller got the one batch's change id");
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 1);
    assert_eq!(fake.batches()[0].len(), 40);
    assert!(fake
        .records(Z)
        .iter()
        .filter(|r| r.set_identifier() == Some("green"))
        .all(|r| r.routing == Routing::Weighted { set_identifier: "green".into(), weight: 10 }));
}

#[tokio::test(start_paused = true)]
async fn batches_respect_route53_limits() {
    let (fake, zone) = zone_with_pairs(120);
    let results = join_all((0..120).map(|i| {
        let zone = &zone;
        async move { zone.change("shift", &upsert(i, 50)).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok));
    let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
    // UPSERTs of one record each: 100 changes and 2 × 100 records per batch at most.
    assert_eq!(sizes, [100, 100, 40]);

    // The record and value-character limits bind too.
    let (fake, _) = zone_with_pairs(0);
    let zone = Zone::with_limits(Z, fake.clone(), BatchLimits { changes: 100, records: 6, value_chars: 32_000 });
    let results = join_all((0..4).map(|i| {
        let zone = &zone;
        async move { zone.change("create", &upsert(i, 0)).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok));
    let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 2, 2], "2 UPSERTs of 1 record count 4 against 6");
    assert_eq!(Cost::of(&upsert(0, 0)), Cost { changes: 2, records: 4, value_chars: 36 });
}

/// Terraform hands out applies one at a time as it finishes earlier ones
/// (`make bench`: about 100 ms apart with 500 resources). Writes arriving
/// like that still share batches, up to Route 53's limits.
#[tokio::test(start_paused = true)]
async fn writes_handed_out_one_by_one_still_share_a_batch() {
    let (fake, zone) = zone_with_pairs(60);
    let started = Instant::now();
    let results = join_all((0..60).map(|i| {
        let zone = &zone;
        async move {
            // Gaps of 100 ms, with a few of 300 ms (Terraform's p99).
            let gaps: u64 = (0..i as u64).map(|k| if k % 7 == 6 { 300 } else { 100 }).sum();
            tokio::time::sleep(Duration::from_millis(gaps)).await;
            zone.change(&format!("switch {i}"), &upsert(i, 10)).await
        }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok));
    let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
    // The first write cannot know a burst is coming: it goes alone after
    // COALESCE_WINDOW. Then 50 pairs fill a batch (100 changes), and the
    // last 9 go in a third.
    assert_eq!(sizes, [2, 100, 18]);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());

    // Writes further apart than BURST_QUIET are not held back for each other.
    let (fake, zone) = zone_with_pairs(3);
    join_all((0..3).map(|i| {
        let zone = &zone;
        async move {
            tokio::time::sleep(BURST_QUIET * 2 * i as u32).await;
            zone.change("shift", &upsert(i, 10)).await.unwrap()
        }
    }))
    .await;
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 3);
}

/// A burst never holds a write longer than BURST_MAX_WAIT.
#[tokio::test(start_paused = true)]
async fn a_burst_holds_no_write_longer_than_the_max_wait() {
    let (fake, zone) = zone_with_pairs(40);
    let waits = join_all((0..40).map(|i| {
        let zone = &zone;
        async move {
            tokio::time::sleep(Duration::from_millis(300 * i as u64)).await;
            let asked = Instant::now();
            zone.change("shift", &upsert(i, 10)).await.unwrap();
            asked.elapsed()
        }
    }))
    .await;
    assert!(waits.iter().all(|w| *w <= BURST_MAX_WAIT + BURST_QUIET), "{waits:?}");
    assert!(fake.calls("ChangeResourceRecordSets") >= 2, "12 s of arrivals cannot go out as one batch");
}

/// One switch's rollout writes the same name step after step: each
/// step's write goes out after COALESCE_WINDOW, not held for a burst.
#[tokio::test(start_paused = true)]
async fn a_lone_rollout_s_writes_wait_only_the_window() {
    let (fake, zone) = zone_with_pairs(1);
    for step in [10, 20, 30, 40] {
        let asked = Instant::now();
        zone.change("step", &upsert(0, step)).await.unwrap();
        assert!(asked.elapsed() < COALESCE_WINDOW * 2, "step {step} took {:?}", asked.elapsed());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 4);
}

#[tokio::test(start_paused = true)]
async fn an_invalid_request_in_a_merged_batch_fails_alone() {
    let (fake, zone) = zone_with_pairs(8);
    let requests: Vec<Vec<Change>> = (0..8)
        .map(|i| {
            if i == 5 {
                // Deleting a record set that is not there: Route 53 rejects the whole batch.
                vec![Change { action: ChangeAction::Delete, record: weighted(&name(5), "purple", 1, "192.0.2.9") }]
            } else {
                upsert(i, 25)
            }
        })
        .collect();
    let results = join_all(requests.iter().map(|changes| zone.change("mixed", changes))).await;
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (5, Err(e)) => assert_eq!((e.kind, e.code.as_deref()), (AwsErrorKind::Invalid, Some("InvalidChangeBatch"))),
            (5, Ok(_)) => panic!("the invalid request succeeded"),
            (_, Err(e)) => panic!("request {i} failed with the invalid one: {e}"),
            (_, Ok(_)) => {}
        }
    }
    for i in (0..8).filter(|&i| i != 5) {
        assert_eq!(green_weight(&fake.records(Z).into_iter().filter(|r| r.name == name(i)).collect::<Vec<_>>()), Some(25));
    }
    assert_eq!(green_weight(&fake.records(Z).into_iter().filter(|r| r.name == name(5)).collect::<Vec<_>>()), Some(0));
    // 1 merged + halves [0,4) ok, [4,8) rejected, [4,6) rejected, [4] ok, [5] rejected, [6,8) ok.
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 7);
    let applied: usize = fake.batches().iter().map(Vec::len).sum();
    assert_eq!(applied, 14, "each valid change applied exactly once");
}

#[tokio::test(start_paused = true)]
async fn a_denied_name_in_a_merged_batch_fails_alone_and_is_named() {
    // The policy's ChangeResourceRecordSetsNormalizedRecordNames condition judges the whole batch.
    let (fake, zone) = zone_with_pairs(3);
    fake.deny_name(&name(1));
    let requests: Vec<Vec<Change>> = (0..3).map(|i| upsert(i, 30)).collect();
    let results = join_all(requests.iter().map(|changes| zone.change("mixed", changes))).await;
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (1, Err(e)) => {
                assert_eq!(
                    (e.kind, e.code.as_deref(), e.operation),
                    (AwsErrorKind::Auth, Some("AccessDenied"), "ChangeResourceRecordSets")
                );
                assert!(e.message.contains(&format!("UPSERT {} A", name(1))), "the denied name is named: {e}");
                for other in [0, 2] {
                    assert!(!e.message.contains(&name(other)), "only the denied name is named: {e}");
                }
            }
            (1, Ok(_)) => panic!("the denied request succeeded"),
            (_, Err(e)) => panic!("request {i} failed with the denied one: {e}"),
            (_, Ok(_)) => {}
        }
    }
    for i in [0, 2] {
        assert_eq!(green_weight(&fake.records(Z).into_iter().filter(|r| r.name == name(i)).collect::<Vec<_>>()), Some(30));
    }
    assert_eq!(green_weight(&fake.records(Z).into_iter().filter(|r| r.name == name(1)).collect::<Vec<_>>()), Some(0));
    // 1 merged (denied) + halves [0] ok, [1,3) denied, [1] denied, [2] ok.
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 5);
    assert_eq!(fake.batches().len(), 2, "each allowed change applied exactly once");
}

#[tokio::test(start_paused = true)]
async fn a_lone_denied_write_names_its_record_set() {
    let (fake, zone) = zone_with_pairs(1);
    fake.deny_name(&name(0));
    let e = zone.change("alone", &upsert(0, 10)).await.unwrap_err();
    assert_eq!(e.kind, AwsErrorKind::Auth);
    assert!(e.message.ends_with(&format!("(the denied change: UPSERT {} A)", name(0))), "{e}");
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 1);
}

#[tokio::test(start_paused = true)]
async fn writes_to_the_same_record_set_go_in_order_in_separate_batches() {
    let (fake, zone) = zone_with_pairs(1);
    let (a, b) = (upsert(0, 10), upsert(0, 20));
    let results = join_all([zone.change("first", &a), zone.change("second", &b)]).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(fake.calls("ChangeResourceRecordSets"), 2);
    assert_eq!(green_weight(&fake.records(Z)), Some(20));
}

#[tokio::test(start_paused = true)]
async fn one_poller_serves_every_wait_on_a_change() {
    let (fake, zone) = zone_with_pairs(0);
    fake.pending_polls(2);
    let change = ChangeInfo { id: "/change/C9".into(), status: ChangeStatus::Pending };
    let stop = CancellationToken::new();
    let waits = join_all((0..10).map(|_| zone.wait_insync(&change, SyncOptions::default(), &stop))).await;
    assert!(waits.iter().all(Result::is_ok));
    assert_eq!(fake.calls("GetChange"), 3, "PENDING, PENDING, INSYNC, once for all ten");
    zone.wait_insync(&change, SyncOptions::default(), &stop).await.unwrap();
    assert_eq!(fake.calls("GetChange"), 3, "known INSYNC");
}

#[tokio::test(start_paused = true)]
async fn a_stopped_wait_stops_its_poller() {
    let (fake, zone) = zone_with_pairs(0);
    fake.pending_polls(1_000);
    let change = ChangeInfo { id: "C7".into(), status: ChangeStatus::Pending };
    let stop = CancellationToken::new();
    let (wait, _) = tokio::join!(zone.wait_insync(&change, SyncOptions::default(), &stop), async {
        tokio::time::sleep(Duration::from_secs(4)).await;
        stop.cancel();
    });
    assert!(matches!(wait, Err(Error::Cancelled(_))), "{wait:?}");
    let polls = fake.calls("GetChange");
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(fake.calls("GetChange") <= polls + 1, "the poller stopped once nobody waited");
    assert!(zone.syncing.lock().unwrap().is_empty());
}

#[test]
fn merged_comments_fit_route53_s_limit() {
    let req = |c: &str| Request { comment: c.into(), changes: vec![], cost: Cost::default(), reply: oneshot::channel().0 };
    assert_eq!(batch_comment(&[req("bluegreen: api 0% -> 10%")]), "bluegreen: api 0% -> 10%");
    let many: Vec<Request> = (0..40).map(|i| req(&format!("bluegreen: svc{i} 0% -> 10%"))).collect();
    let c = batch_comment(&many);
    assert!(c.starts_with("bluegreen: 40 changes: bluegreen: svc0 0% -> 10%; "), "{c}");
    assert_eq!(c.chars().count(), MAX_COMMENT);
}

#[tokio::test(start_paused = true)]
async fn getchange_throttles_and_5xx_are_polled_through_until_insync() {
    let (fake, zone) = zone_with_pairs(1);
    let change = zone.change("c", &upsert(0, 20)).await.unwrap();
    for (kind, code) in [
        (AwsErrorKind::Throttling, "Throttling"),
        (AwsErrorKind::Ambiguous, "InternalFailure"),
        (AwsErrorKind::Throttling, "Throttling"),
        (AwsErrorKind::Ambiguous, "ServiceUnavailable"),
    ] {
        fake.fault("GetChange", Fault::Fail(kind, code));
    }
    fake.pending_polls(2);
    let sync = SyncOptions { wait: true, timeout: Duration::from_secs(120) };
    zone.wait_insync(&change, sync, &CancellationToken::new()).await.unwrap();
    assert_eq!(fake.calls("GetChange"), 7, "4 failed polls, 2 PENDING, 1 INSYNC");
}

#[tokio::test(start_paused = true)]
async fn other_getchange_errors_end_the_wait() {
    let (fake, zone) = zone_with_pairs(1);
    let change = zone.change("c", &upsert(0, 20)).await.unwrap();
    fake.fault("GetChange", Fault::Fail(AwsErrorKind::Auth, "AccessDenied"));
    let e = zone.wait_insync(&change, SyncOptions::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(e.to_string().contains("AccessDenied"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn pending_past_sync_timeout_says_what_route53_holds() {
    let (fake, zone) = zone_with_pairs(1);
    let change = zone.change("c", &upsert(0, 20)).await.unwrap();
    fake.pending_polls(1_000);
    let started = Instant::now();
    let sync = SyncOptions { wait: true, timeout: Duration::from_secs(90) };
    let e = zone.wait_insync(&change, sync, &CancellationToken::new()).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(90));
    let Error::NotInSync { change_id, waited, written } = &e else { panic!("{e:?}") };
    assert_eq!(*change_id, change.id);
    assert_eq!(*waited, Duration::from_secs(90));
    assert_eq!(written.as_deref(), Some("UPSERT svc0000.example.com. A blue=80; UPSERT svc0000.example.com. A green=20"));
    assert!(e.to_string().contains("not INSYNC after 1m30s"), "{e}");
}

/// A writer the test's subscriber logs into.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_still_pending_is_logged_at_info_once_a_minute() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .with_writer(move || sink.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let (fake, zone) = zone_with_pairs(1);
    let change = zone.change("c", &upsert(0, 20)).await.unwrap();
    fake.pending_polls(1_000);
    let sync = SyncOptions { wait: true, timeout: Duration::from_secs(210) };
    zone.wait_insync(&change, sync, &CancellationToken::new()).await.unwrap_err();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("still PENDING after")).collect();
    assert_eq!(lines.len(), 3, "one INFO line a minute over 3m30s:\n{text}");
    assert!(lines.iter().all(|l| l.contains("INFO")), "{lines:?}");
    for (line, after) in lines.iter().zip(["1m", "2m", "3m"]) {
        assert!(line.contains(&format!("still PENDING after {after}")), "{line}");
    }
}

/// `all_record_sets` lists the whole zone page by page, with no page limit, in Route 53's order; the reads of single
/// names that follow within the snapshot's age are served from it.
#[tokio::test(start_paused = true)]
async fn listing_every_record_set_pages_through_the_zone_and_serves_later_reads() {
    let (fake, zone) = zone_with_pairs(400);
    let all = zone.all_record_sets().await.unwrap();
    assert_eq!(all.len(), 800);
    let pages = fake.calls("ListResourceRecordSets");
    assert!(pages >= 3, "800 record sets take several pages of 300, got {pages}");
    assert_eq!(all[0].name, name(0));
    assert_eq!(all[799].name, name(399));
    for i in [0, 123, 399] {
        assert_eq!(green_weight(&zone.record_sets(&name(i), &RecordType::A).await.unwrap()), Some(0));
    }
    assert_eq!(fake.calls("ListResourceRecordSets"), pages, "no read after the listing");
}
