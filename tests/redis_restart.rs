//! Proves that Redis dying under load and coming back (its data kept in an
//! append-only file, its script cache empty, as after any restart) costs
//! nothing: while it is down the partitions wait, nothing more is committed
//! and nothing is dead-lettered; once it is back every valid fix is
//! processed, every driver is at its newest valid fix (none moved
//! backwards), and no counter or publication is applied twice, not even
//! those of the write in flight as Redis died (applied, its answer lost,
//! sent again with the batch's retry).
//!
//! The test command runs it small (Redis down 5 s); `scripts/chaos.sh` runs
//! it with `FLEETHOST_CHAOS_FIXES`, `FLEETHOST_CHAOS_DRIVERS` and
//! `FLEETHOST_CHAOS_REDIS_DOWN_S` set large.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::*;

const PARTITIONS: i32 = 2;
/// The live pipeline's batch size.
const MAX_EVENTS: usize = 200;

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_restart_under_load_loses_nothing_and_applies_writes_once() {
    let fixes = scale_setting("FLEETHOST_CHAOS_FIXES", 20_000);
    let drivers = scale_setting("FLEETHOST_CHAOS_DRIVERS", 500);
    let down = Duration::from_secs(scale_setting("FLEETHOST_CHAOS_REDIS_DOWN_S", 5) as u64);
    let TestNames { topic, group, prefix } = TestNames::create("redis-restart", PARTITIONS).await;
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("redis-restart"));
    let redis = PrivateRedis::start_durable(port, &dir);
    let plugins = ["live_location", "test_recorder"];
    let mut config = one_pipeline_config("redis-restart", &topic, &group, &prefix, &plugins, &url);
    config.pipelines[0].batch.max_events = MAX_EVENTS;
    let config = write_config_file("redis-restart", &config);
    let data = fleet_data(drivers, fixes, 100, 61);
    let publications = Publications::collect(&url, &format!("{prefix}*"));

    // A stream of about fifteen seconds plus the outage, in half-second chunks.
    let chunks = 30 + 2 * down.as_secs() as usize;
    let stream = tokio::spawn(produce_paced(
        topic.clone(),
        data.clone(),
        fixes.div_ceil(chunks).max(1),
        Duration::from_millis(500),
    ));
    let host = Host::start("redis-restart", &config);
    wait_until("the host processed some events", Duration::from_secs(90), || {
        delivery_count_at(&url, &prefix, &topic, PARTITIONS) > 0
    });

    drop(redis);
    let died = Instant::now();
    wait_until("the host says it waits for Redis", Duration::from_secs(30), || {
        host.log().contains("waiting for a backend")
    });
    // What finished before Redis died may still be committed; then nothing.
    std::thread::sleep(Duration::from_secs(1));
    let committed = committed_offsets(&group, &topic, PARTITIONS);
    std::thread::sleep(down.saturating_sub(died.elapsed()));
    assert_eq!(
        committed_offsets(&group, &topic, PARTITIONS),
        committed,
        "nothing is committed while Redis is down"
    );
    let by_plugins: Vec<DeadLetter> = read_all(&format!("{topic}.dlq"), 0, Duration::from_secs(1))
        .into_iter()
        .filter(|letter| letter.headers.contains_key("fleethost.plugin"))
        .collect();
    assert!(
        by_plugins.is_empty(),
        "no plugin failure is dead-lettered: {by_plugins:?}"
    );

    let _redis = PrivateRedis::start_durable(port, &dir);
    let back = Instant::now();
    let positions = stream.await.expect("producer task");
    let produced = Instant::now();
    wait_until_consumed(&group, &topic, PARTITIONS, &positions, Duration::from_secs(120));
    let lag_zero_s = produced.elapsed().as_secs_f64();
    assert_nothing_lost_at(&url, &prefix, &topic, PARTITIONS, &data, &positions);
    let (delivered, distinct) = recorded_deliveries_at(&url, &prefix, &topic, PARTITIONS);
    let applied_twice = delivered - distinct as u64;
    let published = publications.stop();
    let distinct_publications: std::collections::HashSet<&(String, String)> = published.iter().collect();
    let published_twice = published.len() - distinct_publications.len();
    let retried = host.log().matches("no longer waiting for a backend").count();
    println!(
        "redis restart: {fixes} fixes, {drivers} drivers, Redis down {:.1} s; {delivered} recorder increments \
         applied for {distinct} events ({applied_twice} twice); {} publications seen ({published_twice} twice); \
         {retried} partitions retried their batch after the wait; the stream went on {:.1} s after Redis was \
         back, lag 0 {lag_zero_s:.1} s after its last fix",
        back.duration_since(died).as_secs_f64(),
        published.len(),
        produced.duration_since(back).as_secs_f64()
    );
    assert_eq!(applied_twice, 0, "no counter is applied twice");
    assert_eq!(published_twice, 0, "no publication is applied twice");
    assert!(!published.is_empty(), "the live positions were published");
}
