//! Proves that a host killed with SIGKILL again and again, at random moments
//! of a steady stream (each while it holds work it has not committed), loses
//! nothing and duplicates only what it had processed without committing:
//! after the last restart Redis holds every
//! driver's newest valid fix, every valid fix was processed, the dead-letter
//! topic names exactly the bad messages, the history table holds one row per
//! valid fix (none missing, none twice), and the deliveries test-recorder
//! counted exceed the distinct offsets by at most what was processed but
//! not committed at the kills.
//!
//! The test command runs it small; `scripts/chaos.sh` runs the same test with
//! `FLEETHOST_CHAOS_FIXES`, `FLEETHOST_CHAOS_KILLS` and
//! `FLEETHOST_CHAOS_DRIVERS` set large (docs/reliability.md has its figures).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::*;

const PARTITIONS: i32 = 4;

/// The live pipeline (live-location, then test-recorder) and the history
/// pipeline (db-writer into `table`), each in its own group.
fn config(names: &TestNames, table: &str) -> Config {
    let mut config = test_config(&redis_url());
    config.database.url = Some(database_url());
    for (name, plugins) in [
        ("live", &["live_location", "test_recorder"][..]),
        ("history", &["db_writer"][..]),
    ] {
        let mut pipeline = test_pipeline(name, &format!("{}-{name}", names.group), &names.topic, plugins);
        pipeline.batch.max_events = 500;
        pipeline.batch.max_wait_ms = 200;
        // Commits far enough apart that a kill finds work done but not
        // committed: what a restart must deliver again.
        pipeline.commit_interval_ms = 2_000;
        config.pipelines.push(pipeline);
    }
    add_plugins_under(&mut config, &["live_location", "test_recorder"], &names.prefix);
    add_history_writer(&mut config, table);
    config
}

/// The offsets test-recorder processed at or past the group's committed
/// offset of their partition: what a restart delivers again.
fn processed_but_uncommitted(prefix: &str, group: &str, topic: &str) -> usize {
    let committed = committed_offsets(group, topic, PARTITIONS);
    let seen: BTreeSet<Position> = recorded_offsets(prefix, topic, PARTITIONS);
    seen.iter()
        .filter(|position| position.offset >= committed[position.partition as usize].max(0))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_kills_lose_nothing_and_duplicate_only_the_uncommitted() {
    let fixes = scale_setting("FLEETHOST_CHAOS_FIXES", 30_000);
    let kills = scale_setting("FLEETHOST_CHAOS_KILLS", 3);
    let drivers = scale_setting("FLEETHOST_CHAOS_DRIVERS", 500);
    let names = TestNames::create("kills", PARTITIONS).await;
    let (live_group, history_group) = (format!("{}-live", names.group), format!("{}-history", names.group));
    let table = unique_table("kills_history");
    let _cleanup = DropTables(vec![table.clone()]);
    let data = fleet_data(drivers, fixes, 100, 41);
    let valid = data.iter().filter(|fixture| fixture.valid.is_some()).count();
    let config = write_config_file("kills", &config(&names, &table));

    // A stream that lasts through the kills (a cycle of start, join, work
    // and kill takes about eight seconds), in chunks a second apart.
    let pause = Duration::from_secs(1);
    let chunks = (kills + 1) * 6;
    let stream = tokio::spawn(produce_paced(
        names.topic.clone(),
        data.clone(),
        fixes.div_ceil(chunks).max(1),
        pause,
    ));
    let mut moments = StdRng::seed_from_u64(7);
    let mut uncommitted_at_kills = 0;
    let started = Instant::now();
    for kill in 1..=kills {
        let delivered = || delivery_count_at(&redis_url(), &names.prefix, &names.topic, PARTITIONS);
        let delivered_before = delivered();
        let mut host = Host::start(&format!("killed-{kill}"), &config);
        wait_until("the host processed new events", Duration::from_secs(90), || {
            delivered() > delivered_before
        });
        std::thread::sleep(Duration::from_millis(moments.random_range(200..3_000)));
        // The kill comes while the host holds work it has not committed.
        wait_until("the host holds uncommitted work", Duration::from_secs(30), || {
            processed_but_uncommitted(&names.prefix, &live_group, &names.topic) > 0
        });
        host.kill();
        let window = processed_but_uncommitted(&names.prefix, &live_group, &names.topic);
        println!(
            "kill {kill} of {kills} at {:.1} s: {window} events processed but not committed",
            started.elapsed().as_secs_f64()
        );
        uncommitted_at_kills += window;
    }

    let killed_s = started.elapsed().as_secs_f64();
    let mut last = Host::start("last", &config);
    let positions = stream.await.expect("producer task");
    let streamed_s = started.elapsed().as_secs_f64();
    assert_eq!(positions.len(), fixes, "every fix was produced");
    let timeout = Duration::from_secs(120 + fixes as u64 / 2_000);
    wait_until_consumed(&live_group, &names.topic, PARTITIONS, &positions, timeout);
    wait_until_consumed(&history_group, &names.topic, PARTITIONS, &positions, timeout);
    let status = last.terminate(Duration::from_secs(30));
    assert!(status.success(), "the last host exits 0 on SIGTERM, got {status}");

    assert_nothing_lost(&names.prefix, &names.topic, PARTITIONS, &data, &positions);
    let pool = database().await;
    assert_counts(&pool, &table, valid, "after the kills").await;
    let (delivered, distinct) = recorded_deliveries(&names.prefix, &names.topic, PARTITIONS);
    let duplicates = delivered - distinct as u64;
    println!(
        "repeated kills: {fixes} fixes ({valid} valid), {drivers} drivers, {kills} kills in {killed_s:.1} s; \
         {delivered} deliveries of {distinct} events: {duplicates} duplicates, {uncommitted_at_kills} processed but \
         uncommitted at the kills; history {valid} rows, none missing or twice; stream done at {streamed_s:.1} s, \
         everything checked at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(distinct, valid, "every valid fix was recorded");
    assert!(
        duplicates <= uncommitted_at_kills as u64,
        "{duplicates} duplicates, more than the {uncommitted_at_kills} events in flight at the kills"
    );
}
