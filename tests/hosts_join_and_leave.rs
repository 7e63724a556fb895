//! Proves that hosts can join and leave one consumer group in the middle of
//! a steady stream: one host, then three (each takes its share and every
//! partition keeps moving), then one again (one left with SIGTERM, one was
//! killed); the survivor takes every partition back, the group's lag is 0
//! within 60 s of the last change, and nothing is lost.
//!
//! The test command runs it small; `scripts/chaos.sh` runs it with
//! `FLEETHOST_CHAOS_FIXES` and `FLEETHOST_CHAOS_DRIVERS` set large.

mod support;

use std::time::{Duration, Instant};

use support::*;

const PARTITIONS: i32 = 6;

/// Partitions a host's log says it was assigned last.
fn last_assignment(log: &str) -> Option<usize> {
    log.lines()
        .rfind(|line| line.contains("partitions assigned"))
        .map(|line| line.matches("\", ").count())
}

/// Waits until every partition's committed offset is past `since`'s: no
/// partition stalled while the group was in this shape.
fn wait_until_every_partition_moves(group: &str, topic: &str, since: &[i64], shape: &str) {
    wait_until(
        &format!("every partition committed progress with {shape}"),
        Duration::from_secs(90),
        || {
            committed_offsets(group, topic, PARTITIONS)
                .iter()
                .zip(since)
                .all(|(now, before)| now > before)
        },
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_join_and_leave_mid_stream_and_the_lag_returns_to_zero() {
    let fixes = scale_setting("FLEETHOST_CHAOS_FIXES", 60_000);
    let drivers = scale_setting("FLEETHOST_CHAOS_DRIVERS", 600);
    let TestNames { topic, group, prefix } = TestNames::create("join-leave", PARTITIONS).await;
    let data = fleet_data(drivers, fixes, 100, 52);
    let config = write_config(
        "join-leave",
        &topic,
        &group,
        &prefix,
        &["live_location", "test_recorder"],
    );

    // A stream of at most a minute, stopped once the group is back to one.
    let flowing = tokio_util::sync::CancellationToken::new();
    let stream = tokio::spawn(produce_until(
        topic.clone(),
        data.clone(),
        fixes.div_ceil(240).max(1),
        Duration::from_millis(250),
        flowing.clone(),
    ));

    let mut a = Host::start("a", &config);
    wait_until("host a holds every partition", Duration::from_secs(60), || {
        last_assignment(&a.log()) == Some(PARTITIONS as usize)
    });
    let before = committed_offsets(&group, &topic, PARTITIONS);
    wait_until_every_partition_moves(&group, &topic, &before, "one host");

    let mut b = Host::start("b", &config);
    let mut c = Host::start("c", &config);
    wait_until("three hosts hold two partitions each", Duration::from_secs(90), || {
        [&a, &b, &c].iter().all(|host| last_assignment(&host.log()) == Some(2))
    });
    let before = committed_offsets(&group, &topic, PARTITIONS);
    wait_until_every_partition_moves(&group, &topic, &before, "three hosts");

    let status = b.terminate(Duration::from_secs(30));
    assert!(status.success(), "host b leaves with exit 0 on SIGTERM, got {status}");
    c.kill();
    wait_until("host a holds every partition again", Duration::from_secs(90), || {
        last_assignment(&a.log()) == Some(PARTITIONS as usize)
    });
    let last_change = Instant::now();
    flowing.cancel();
    let positions = stream.await.expect("producer task");
    assert!(
        positions.len() < fixes,
        "the stream was still flowing when the group came back to one host"
    );
    wait_for_commits(
        &group,
        &topic,
        &end_offsets(&positions, PARTITIONS),
        Duration::from_secs(60).saturating_sub(last_change.elapsed()),
    );
    println!(
        "hosts joining and leaving: {} fixes produced, {drivers} drivers, {PARTITIONS} partitions; \
         lag 0 {:.1} s after the group came back to one host",
        positions.len(),
        last_change.elapsed().as_secs_f64()
    );
    assert!(a.is_running());
    let produced = &data[..positions.len()];
    assert_nothing_lost(&prefix, &topic, PARTITIONS, produced, &positions);
}
