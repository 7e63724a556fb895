//! Proves that a broker crash and restart mid-run costs only time: a Tansu
//! keeping its topics, messages and group offsets in durable storage (an
//! S3-compatible store of the test's own, a process that outlives the
//! broker) is killed with SIGKILL under a steady stream and started again
//! on the same port. The host is not restarted: it reconnects by itself and
//! goes on; once the stream ends every valid fix is processed, every driver
//! is at its newest valid fix, the dead-letter topic names exactly the bad
//! messages, and the duplicates test-recorder counted are at most what was
//! processed but uncommitted while the broker was down (the session times
//! out, the assignment is lost and its commit fails), give or take a batch
//! per partition finished from what had been fetched.
//!
//! The test command keeps the broker down 5 s; `scripts/chaos.sh` sets
//! `FLEETHOST_CHAOS_BROKER_DOWN_S` (30), `FLEETHOST_CHAOS_FIXES` and
//! `FLEETHOST_CHAOS_DRIVERS`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::private_broker::PrivateBroker;
use support::s3_storage::S3Storage;
use support::*;

const PARTITIONS: i32 = 2;
/// The pipeline's batch size: what a partition may still finish from what
/// it had fetched after the test counted, before the host's group session
/// timed out and the assignment was lost (its commit then fails).
const MAX_EVENTS: usize = 500;

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
    config.pipelines[0].batch.max_events = MAX_EVENTS;
    let config = write_config_file("broker-restart", &config);
    let data = fleet_data(drivers, fixes, 100, 83);

    // A stream of about fifteen seconds plus the outage, in half-second
    // chunks; the producer waits out the outage (librdkafka retries).
    let chunks = 30 + 2 * down.as_secs() as usize;
    let streamed = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn(produce_paced_at(
        broker.bootstrap.clone(),
        topic.clone(),
        data.clone(),
        fixes.div_ceil(chunks).max(1),
        Duration::from_millis(500),
        streamed.clone(),
    ));
    let mut host = Host::start("broker-restart", &config);
    wait_until(
        "the host processed a quarter of the stream",
        Duration::from_secs(90),
        || delivery_count_at(&redis_url(), &prefix, &topic, PARTITIONS) > fixes as u64 / 4,
    );

    let committed_total = |broker: &PrivateBroker| -> i64 {
        committed_offsets_at(&broker.bootstrap, &group, &topic, PARTITIONS)
            .into_iter()
            .map(|offset| offset.max(0))
            .sum()
    };
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
    let in_flight = processed_at_kill.saturating_sub(committed_after.min(committed) as u64);
    wait_until("the host processes new fixes again", Duration::from_secs(120), || {
        delivery_count_at(&redis_url(), &prefix, &topic, PARTITIONS) > processed_at_kill
    });
    let reconnected = back.elapsed();

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
    let dead_letters = read_all_at(
        &broker.bootstrap,
        &format!("{topic}.dlq"),
        bad.len(),
        Duration::from_secs(2),
    );
    assert_eq!(
        dead_letter_positions(&dead_letters),
        bad,
        "dead letters name exactly the bad messages"
    );
    let (delivered, distinct) = recorded_deliveries(&prefix, &topic, PARTITIONS);
    let duplicates = delivered - distinct as u64;
    println!(
        "broker restart: {} fixes ({} valid), {drivers} drivers, {PARTITIONS} partitions, Tansu on S3 storage \
         killed with SIGKILL after {streamed_at_kill} fixes were produced and started again {:.1} s later; the \
         host processed new fixes {:.1} s after the broker was back, without a restart; {delivered} deliveries \
         for {distinct} events ({duplicates} duplicates, {in_flight} processed but uncommitted while the broker was down; the group \
         had committed {committed} before the kill, {committed_after} after the restart); lag 0 \
         {:.1} s after the stream's last fix; nothing lost",
        positions.len(),
        valid.len(),
        back.duration_since(died).as_secs_f64(),
        reconnected.as_secs_f64(),
        lag_zero.as_secs_f64()
    );
    let allowed = in_flight + PARTITIONS as u64 * MAX_EVENTS as u64;
    assert!(
        duplicates <= allowed,
        "{duplicates} duplicate deliveries, more than the {in_flight} events processed but uncommitted while the \
         broker was down and a batch per partition ({allowed})"
    );
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
