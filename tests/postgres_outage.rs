//! Proves that PostgreSQL going away under a steady stream costs the history
//! pipeline time and nothing else: while it is unreachable the history
//! partitions are paused (fetching stops, so the host does not read the
//! outage's backlog into memory; `/metrics` shows them), no history offset
//! is committed past a row that is written, the host's memory stays
//! bounded, and the live pipeline keeps its pace; once the database is back
//! every fix is written exactly once and the partitions fetch again.
//!
//! The database is reached through a proxy the test cuts (new connections
//! refused, open ones dropped), so the shared PostgreSQL of the other tests
//! stays up. The test command keeps it cut 8 s; `scripts/chaos.sh` sets
//! `FLEETHOST_CHAOS_PG_DOWN_S` (60), `FLEETHOST_CHAOS_FIXES` and
//! `FLEETHOST_CHAOS_DRIVERS`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::*;

const PARTITIONS: i32 = 4;
/// What the host's resident memory may grow by while the database is out.
const RSS_GROWTH_BOUND_KIB: u64 = 64 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_under_load_pauses_history_and_loses_nothing() {
    let fixes = scale_setting("FLEETHOST_CHAOS_FIXES", 40_000);
    let drivers = scale_setting("FLEETHOST_CHAOS_DRIVERS", 1_000);
    let down = Duration::from_secs(scale_setting("FLEETHOST_CHAOS_PG_DOWN_S", 8) as u64);
    let TestNames { topic, group, prefix } = TestNames::create("pg-outage", PARTITIONS).await;
    let table = unique_table("pg_outage_history");
    let _drop_tables = DropTables(vec![table.clone()]);
    let pool = database().await;
    let (proxy, proxied_database) = database_proxy(true).await;

    let (live_group, history_group) = (format!("{group}-live"), format!("{group}-history"));
    let mut config = test_config(&redis_url());
    let admin = enable_admin(&mut config, free_port());
    config.database.url = Some(proxied_database);
    for (name, group, plugin) in [
        ("live", &live_group, "live_location"),
        ("history", &history_group, "db_writer"),
    ] {
        add_pipeline(&mut config, name, group, &topic, &[plugin]);
    }
    add_plugins_under(&mut config, &["live_location"], &prefix);
    add_history_writer(&mut config, &table);
    let config = write_config_file("pg-outage", &config);
    // Every fix valid: each offset below a committed one must have its row.
    let data = fleet_data(drivers, fixes, 0, 71);

    // A stream of about twenty seconds plus the outage, in half-second chunks.
    let chunks = 40 + 2 * down.as_secs() as usize;
    let chunk = fixes.div_ceil(chunks).max(1);
    let streamed = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn(produce_paced_at(
        bootstrap(),
        topic.clone(),
        data.clone(),
        chunk,
        Duration::from_millis(500),
        Producing::Idempotent,
        streamed.clone(),
    ));
    let mut host = Host::start("pg-outage", &config);
    wait_for_rows(&pool, &table, 1, Duration::from_secs(90)).await;
    assert_committed_rows_exist(&pool, &table, &history_group, &topic).await;

    proxy.cut();
    let cut = Instant::now();
    let (streamed_at_cut, live_at_cut) = (streamed.load(Ordering::SeqCst), committed_total(&live_group, &topic));
    let rss_at_cut_kib = proc_status_kib(host.pid(), "VmRSS");
    let paused = format!("fleethost_partitions_paused{{pipeline=\"history\",reason=\"backend\"}} {PARTITIONS}");
    wait_until("every history partition is paused", Duration::from_secs(30), || {
        admin_get(&admin, "/metrics").contains(&paused)
    });
    let paused_after = cut.elapsed();
    assert!(
        admin_get(&admin, "/metrics").contains("fleethost_partitions_paused{pipeline=\"live\",reason=\"backend\"} 0"),
        "the live pipeline fetches on"
    );
    // What finished before the cut may still be committed; then nothing.
    std::thread::sleep(Duration::from_secs(2));
    let history_at_cut = committed_offsets(&history_group, &topic, PARTITIONS);
    let mut rss_max_kib = rss_at_cut_kib;
    while cut.elapsed() < down {
        rss_max_kib = rss_max_kib.max(proc_status_kib(host.pid(), "VmRSS"));
        assert_eq!(
            committed_offsets(&history_group, &topic, PARTITIONS),
            history_at_cut,
            "no history offset is committed while the database is unreachable"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_committed_rows_exist(&pool, &table, &history_group, &topic).await;
    let (streamed_at_end, live_at_end) = (streamed.load(Ordering::SeqCst), committed_total(&live_group, &topic));
    let outage = cut.elapsed();
    let dead_letters = read_all(&format!("{topic}.dlq"), 0, Duration::from_secs(1));
    assert!(
        dead_letters.is_empty(),
        "the outage dead-lettered nothing: {dead_letters:?}"
    );

    proxy.restore();
    let back = Instant::now();
    let positions = stream.await.expect("producer task");
    let stream_end = Instant::now();
    let produced = positions.len();
    let ends = end_offsets(&positions, PARTITIONS);
    wait_for_commits(&history_group, &topic, &ends, Duration::from_secs(180));
    let caught_up = stream_end.elapsed();
    wait_for_commits(&live_group, &topic, &ends, Duration::from_secs(60));
    assert_counts(&pool, &table, positions.len(), "after the outage").await;
    assert_committed_rows_exist(&pool, &table, &history_group, &topic).await;
    assert_live_positions(&prefix, &newest_per_driver(&data));
    wait_until("the history partitions fetch again", Duration::from_secs(10), || {
        admin_get(&admin, "/metrics").contains("fleethost_partitions_paused{pipeline=\"history\",reason=\"backend\"} 0")
    });
    let log = host.log();
    assert!(log.contains("paused the partition's fetching"), "the pause is logged");
    assert!(log.contains("resumed the partition's fetching"), "the resume is logged");

    // The live pipeline's pace through the outage, against the stream's.
    let outage_s = outage.as_secs_f64();
    let stream_rate = (streamed_at_end - streamed_at_cut) as f64 / outage_s;
    let live_rate = (live_at_end - live_at_cut) as f64 / outage_s;
    let live_behind = streamed_at_end.saturating_sub(live_at_end);
    println!(
        "postgres outage: {produced} fixes, {drivers} drivers, {PARTITIONS} partitions; database unreachable \
         {outage_s:.1} s, every history partition paused {:.1} s after the cut, no history offset committed meanwhile; \
         host RSS {} MiB at the cut, at most {} MiB during the outage; the live pipeline committed \
         {live_rate:.0} fixes/s during it (the stream {stream_rate:.0}/s) and was {live_behind} behind the stream \
         at its end; the history pipeline committed everything {:.1} s after the stream's last fix (the database \
         back {:.1} s before it), {produced} rows for {produced} fixes",
        paused_after.as_secs_f64(),
        rss_at_cut_kib / 1024,
        rss_max_kib / 1024,
        caught_up.as_secs_f64(),
        stream_end.duration_since(back).as_secs_f64()
    );
    assert!(
        rss_max_kib <= rss_at_cut_kib + RSS_GROWTH_BOUND_KIB,
        "the host's memory grew by {} MiB during the outage, more than {} MiB",
        (rss_max_kib - rss_at_cut_kib) / 1024,
        RSS_GROWTH_BOUND_KIB / 1024
    );
    // The live pipeline commits every 500 ms and the stream adds a chunk
    // every 500 ms or so: three chunks behind is a pipeline that kept up.
    assert!(
        live_behind <= 3 * chunk,
        "the live pipeline was {live_behind} fixes behind the stream at the end of the outage \
         ({live_rate:.0} fixes/s during it, the stream {stream_rate:.0}/s)"
    );
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}

/// The events `group` committed over all partitions of `topic`.
fn committed_total(group: &str, topic: &str) -> usize {
    committed_total_at(&bootstrap(), group, topic, PARTITIONS) as usize
}

/// Asserts that every offset below each committed one of `group` has its
/// row in `table` (offsets start at 0 and every fix is valid).
async fn assert_committed_rows_exist(pool: &sqlx::PgPool, table: &str, group: &str, topic: &str) {
    for (partition, committed) in committed_offsets(group, topic, PARTITIONS).into_iter().enumerate() {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(DISTINCT kafka_offset) FROM {table} WHERE kafka_partition = $1 AND kafka_offset < $2"
        )))
        .bind(partition as i64)
        .bind(committed)
        .fetch_one(pool)
        .await
        .expect("count rows below the committed offset");
        assert_eq!(
            rows,
            committed.max(0),
            "partition {partition}: committed {committed}, rows below it {rows}"
        );
    }
}
