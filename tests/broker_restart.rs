//! Proves that a broker crash and restart mid-run costs only time: a Tansu
//! keeping its topics, messages and group offsets in durable storage (an
//! S3-compatible store of the test's own, a process that outlives the
//! broker) is killed with SIGKILL under a steady stream and started again
//! on the same port. The host is not restarted: it reconnects by itself and
//! goes on; once the stream ends every valid fix is processed, every driver
//! is at its newest valid fix, the dead-letter topic names exactly the bad
//! messages, and the duplicates test-recorder counted are at most what was
//! processed past the group's commits by its first commit after the
//! restart (while the broker is down the session times out, the assignment
//! is lost and its commit fails; redeliveries start at the commits).
//!
//! The test command keeps the broker down 5 s; `scripts/chaos.sh` sets
//! `FLEETHOST_CHAOS_BROKER_DOWN_S` (30), `FLEETHOST_CHAOS_FIXES` and
//! `FLEETHOST_CHAOS_DRIVERS`.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::private_broker::PrivateBroker;
use support::s3_storage::S3Storage;
use support::*;

const PARTITIONS: i32 = 2;

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_under_load_loses_nothing_and_the_host_reconnects() {
    let fixes = scale_setting("FLEETHOST_CHAOS_FIXES", 20_000);
    let drivers = scale_setting("FLEETHOST_CHAOS_DRIVERS", 500);
    let down = Duration::from_secs(scale_setting("FLEETHOST_CHAOS_BROKER_DOWN_S", 5) as u64);
    let storage = S3Storage::start();
    let mut broker = PrivateBroker::start_on(&storage);
    let (topic, group, prefix) = (
        unique("broker-restart"),
        unique("broker-restart-group"),
        format!("{}:", unique("broker-restart")),
    );
    broker.create_topic(&topic, PARTITIONS).await;
    broker.create_topic(&format!("{topic}.dlq"), 1).await;
    let plugins = ["live_location", "test_recorder"];
    let mut config = one_pipeline_config("broker-restart", &topic, &group, &prefix, &plugins, &redis_url());
    config.kafka.bootstrap_servers = broker.bootstrap.clone();
    let config = write_config_file("broker-restart", &config);
    let data = fleet_data(drivers, fixes, 100, 83);

    // A stream of about fifteen seconds plus the outage, in half-second
    // chunks; the producer waits out the outage (librdkafka retries). Not
    // idempotent: Tansu forgets producers' sequence numbers when it restarts,
    // so a message whose acknowledgement the kill lost may be stored twice.
    let chunks = 30 + 2 * down.as_secs() as usize;
    let streamed = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn(produce_paced_at(
        broker.bootstrap.clone(),
        topic.clone(),
        data.clone(),
        fixes.div_ceil(chunks).max(1),
        Duration::from_millis(500),
        Producing::AtLeastOnce,
        streamed.clone(),
    ));
    let mut host = Host::start("broker-restart", &config);
    wait_until(
        "the host processed a quarter of the stream",
        Duration::from_secs(90),
        || delivery_count_at(&redis_url(), &prefix, &topic, PARTITIONS) > fixes as u64 / 4,
    );

    let committed_total = |broker: &PrivateBroker| committed_total_at(&broker.bootstrap, &group, &topic, PARTITIONS);
    let committed = committed_total(&broker);
    broker.kill();
    let died = Instant::now();
    let streamed_at_kill = streamed.load(Ordering::SeqCst);
    std::thread::sleep(down);
    assert!(host.is_running(), "the host keeps running while the broker is down");
    // The host works through what it had fetched, and can commit none of it:
    // all that may be delivered again.
    let processed_at_kill = delivery_count_at(&redis_url(), &prefix, &topic, PARTITIONS);
    broker.start_again();
    let back = Instant::now();
    // What the restarted broker has of the group's commits, read before the
    // host has rejoined (a join takes seconds): redeliveries start there.
    let committed_after = committed_total(&broker);
    wait_until("the host processes new fixes again", Duration::from_secs(120), || {
        delivery_count_at(&redis_url(), &prefix, &topic, PARTITIONS) > processed_at_kill
    });
    let reconnected = back.elapsed();
    // Redeliveries start at the committed offsets and end with the first
    // commit after the restart: everything processed past the commits until
    // then may be delivered again (the group may rebalance more than once).
    wait_until("the host commits again", Duration::from_secs(120), || {
        committed_total(&broker) > committed_after
    });
    let processed_at_commit = delivery_count_at(&redis_url(), &prefix, &topic, PARTITIONS);
    let in_flight = processed_at_commit.saturating_sub(committed_after.min(committed) as u64);

    let positions = stream.await.expect("producer task");
    let produced = Instant::now();
    let ends = end_offsets(&positions, PARTITIONS);
    wait_for_commits_at(&broker.bootstrap, &group, &topic, &ends, Duration::from_secs(180));
    let lag_zero = produced.elapsed();
    assert!(host.is_running(), "the host was never restarted");

    let (valid, bad) = split_positions(&data, &positions);
    assert_live_positions(&prefix, &newest_per_driver(&data));
    assert_covered(
        &valid,
        &recorded_offsets(&prefix, &topic, PARTITIONS),
        "valid fixes never processed",
    );
    let dead_letters = read_up_to_at(
        &broker.bootstrap,
        &format!("{topic}.dlq"),
        bad.len(),
        Duration::from_secs(2),
        Duration::from_secs(60),
    );
    // Every bad message is dead-lettered, and nothing else: a bad message
    // the producer stored twice is dead-lettered twice. One exception, the
    // broker's: Tansu records an idempotent producer's sequence number
    // before it stores the batch, so a kill between the two makes the
    // retry after the restart "a duplicate", which Kafka clients count as
    // delivered, and the batch is gone. The host names each dead letter
    // acknowledged that way; only those may be missing.
    let missing: BTreeSet<Position> = bad.difference(&dead_letter_positions(&dead_letters)).copied().collect();
    let acknowledged_as_duplicates = acknowledged_as_duplicates(&host.log());
    let unexplained: Vec<&Position> = missing.difference(&acknowledged_as_duplicates).collect();
    assert!(
        unexplained.is_empty(),
        "{} bad messages not dead-lettered, e.g. {:?} ({} missing in all; the host named {} dead letters acknowledged as duplicates)",
        unexplained.len(),
        &unexplained[..unexplained.len().min(5)],
        missing.len(),
        acknowledged_as_duplicates.len()
    );
    let bad_payloads: HashSet<&str> = data
        .iter()
        .filter(|fixture| fixture.valid.is_none())
        .map(|fixture| fixture.payload.as_str())
        .collect();
    let not_bad: Vec<&DeadLetter> = dead_letters
        .iter()
        .filter(|letter| !bad_payloads.contains(letter.payload.as_deref().unwrap_or("")))
        .collect();
    assert!(not_bad.is_empty(), "valid messages dead-lettered: {not_bad:?}");
    let (delivered, distinct) = recorded_deliveries(&prefix, &topic, PARTITIONS);
    let duplicates = delivered - distinct as u64;
    println!(
        "broker restart: {} fixes ({} valid), {drivers} drivers, {PARTITIONS} partitions, Tansu on S3 storage \
         killed with SIGKILL after {streamed_at_kill} fixes were produced and started again {:.1} s later; the \
         host processed new fixes {:.1} s after the broker was back, without a restart; {delivered} deliveries \
         for {distinct} offsets, copies the fleet stored twice included ({duplicates} duplicates; {} processed \
         past the commits while the broker was down, {in_flight} by the first commit after the restart; the \
         group had committed {committed} before the kill, {committed_after} after the restart); lag 0 {:.1} s \
         after the stream's last fix; {} dead letters acknowledged as duplicates, {} of them lost by the broker; \
         nothing lost by the host",
        positions.len(),
        valid.len(),
        back.duration_since(died).as_secs_f64(),
        reconnected.as_secs_f64(),
        processed_at_kill.saturating_sub(committed as u64),
        lag_zero.as_secs_f64(),
        acknowledged_as_duplicates.len(),
        missing.len()
    );
    assert!(
        duplicates <= in_flight,
        "{duplicates} duplicate deliveries, more than the {in_flight} events processed past the commits by the \
         first commit after the restart"
    );
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}

/// The source positions of the dead letters the host logged as
/// acknowledged by the broker as written by an earlier attempt.
fn acknowledged_as_duplicates(log: &str) -> BTreeSet<Position> {
    let field = |line: &str, name: &str| -> Option<i64> {
        let start = line.find(&format!("{name}="))? + name.len() + 1;
        line[start..].split_whitespace().next()?.parse().ok()
    };
    log.lines()
        .filter(|line| line.contains("dead letter acknowledged as written by an earlier attempt"))
        .filter_map(|line| {
            Some(Position {
                partition: field(line, "source_partition")? as i32,
                offset: field(line, "source_offset")?,
            })
        })
        .collect()
}
