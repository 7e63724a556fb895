//! Proves that the db-writer plugin turns a location stream into an exact
//! history table in PostgreSQL: one row per valid fix with the fix's driver,
//! coordinates, event time and source position, bad messages only in the
//! dead-letter topic, no row added by a redelivery (a new consumer group
//! reading everything again, or a kill -9 before any commit), and a table
//! outside the plugin's `sql_write` grant refused visibly and never created.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use support::*;

/// One history row as this test compares it, keyed by its source position
/// (the topic is checked separately: it is the test's topic on every row).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    driver_id: String,
    latitude: f64,
    longitude: f64,
    recorded_at: DateTime<Utc>,
}

/// The history table's rows by source position.
type History = BTreeMap<Position, Row>;

/// A row as selected: driver_id, latitude, longitude, recorded_at, kafka_topic,
/// kafka_partition, kafka_offset.
type StoredRow = (String, f64, f64, DateTime<Utc>, String, i64, i64);

/// What the table must hold after a run over `data` produced at `positions`:
/// exactly the valid fixes, each at the partition and offset it landed on,
/// with the coordinates exactly as produced (the host decodes the exact
/// double that was sent, the column is `double precision`: tolerance 0) and
/// the event time to the millisecond.
fn expected_history(data: &[Fixture], positions: &[Position]) -> History {
    assert_eq!(data.len(), positions.len(), "one delivery report per fixture");
    data.iter()
        .zip(positions)
        .filter_map(|(fixture, position)| {
            let fix = fixture.valid?;
            let recorded_at = DateTime::from_timestamp_millis(fix.timestamp_ms).expect("fixture time in range");
            Some((
                *position,
                Row {
                    driver_id: fixture.key.clone(),
                    latitude: fix.latitude,
                    longitude: fix.longitude,
                    recorded_at,
                },
            ))
        })
        .collect()
}

/// Every row of `table`, asserting that each came from `topic` and that no
/// source position appears twice.
async fn read_history(pool: &sqlx::PgPool, table: &str, topic: &str) -> History {
    let rows: Vec<StoredRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT driver_id, latitude, longitude, recorded_at, kafka_topic, kafka_partition, kafka_offset FROM {table}"
    )))
    .fetch_all(pool)
    .await
    .expect("read the history table");
    let mut history = History::new();
    let mut duplicates = Vec::new();
    for (driver_id, latitude, longitude, recorded_at, kafka_topic, partition, offset) in rows {
        assert_eq!(kafka_topic, topic, "kafka_topic of the row at {partition}/{offset}");
        let position = Position {
            partition: i32::try_from(partition).expect("partition fits i32"),
            offset,
        };
        let row = Row {
            driver_id,
            latitude,
            longitude,
            recorded_at,
        };
        if let Some(earlier) = history.insert(position, row) {
            duplicates.push((position, earlier));
        }
    }
    assert!(
        duplicates.is_empty(),
        "{} source positions stored twice, e.g. {:?}",
        duplicates.len(),
        &duplicates[..duplicates.len().min(5)]
    );
    history
}

/// Asserts that `actual` is exactly `expected`, naming how many rows are
/// missing, extra or different and a few of each.
fn assert_history(actual: &History, expected: &History, context: &str) {
    let missing: Vec<_> = expected.keys().filter(|key| !actual.contains_key(key)).collect();
    let extra: Vec<_> = actual.keys().filter(|key| !expected.contains_key(key)).collect();
    let different: Vec<_> = expected
        .iter()
        .filter_map(|(key, row)| {
            let stored = actual.get(key)?;
            (stored != row).then_some((key, row, stored))
        })
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && different.is_empty(),
        "{context}: {} rows expected, {} stored; {} missing (e.g. {:?}), {} not produced as valid fixes \
         (e.g. {:?}), {} different (expected, stored; e.g. {:?})",
        expected.len(),
        actual.len(),
        missing.len(),
        &missing[..missing.len().min(5)],
        extra.len(),
        &extra[..extra.len().min(5)],
        different.len(),
        &different[..different.len().min(5)]
    );
}

/// Whether `table` exists, asked both ways PostgreSQL offers.
async fn table_exists(pool: &sqlx::PgPool, table: &str) -> bool {
    let regclass: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(pool)
        .await
        .expect("to_regclass");
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = $1")
        .bind(table)
        .fetch_one(pool)
        .await
        .expect("information_schema.tables");
    assert_eq!(
        regclass,
        listed > 0,
        "to_regclass and information_schema agree on {table}"
    );
    regclass
}

/// A config with one pipeline over `topic` running db_writer into `table`,
/// granted `sql_write = [granted]`, committing every `commit_interval_ms`.
fn history_config(
    name: &str,
    group: &str,
    topic: &str,
    table: &str,
    granted: &str,
    commit_interval_ms: u64,
) -> PathBuf {
    let mut config = test_config(&redis_url());
    config.database.url = Some(database_url());
    let mut pipeline = test_pipeline(name, group, topic, &["db_writer"]);
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 200;
    pipeline.commit_interval_ms = commit_interval_ms;
    config.pipelines.push(pipeline);
    let mut plugin = test_plugin("db_writer", &[("table", table)]);
    plugin.grants.sql_write = vec![granted.to_string()];
    config.plugins.insert("db_writer".into(), plugin);
    write_config_file(name, &config)
}

/// Asserts that the dead letters of `topic` name exactly `expected` source
/// positions (a redelivery may name one twice) and all come from decoding,
/// none from the db-writer.
fn assert_only_bad_messages_dead_lettered(topic: &str, at_least: usize, expected: &BTreeSet<Position>) {
    let dead_letters = read_all(&format!("{topic}.dlq"), at_least, Duration::from_secs(2));
    assert_eq!(
        &dead_letter_positions(&dead_letters),
        expected,
        "dead letters name exactly the bad messages"
    );
    for letter in &dead_letters {
        assert!(
            !letter.headers.contains_key("fleethost.plugin"),
            "no valid fix failed in the plugin: {letter:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_valid_fix_becomes_one_exact_row_and_a_second_group_adds_none() {
    let TestNames { topic, group, .. } = TestNames::create("dbw-exact", 4).await;
    let table = unique_table("dbw_exact");
    let _cleanup = DropTables(vec![table.clone()]);
    let data = fleet_data(500, 20_000, 100, 31);
    let positions = produce(&topic, &data).await;
    let (valid, bad) = split_positions(&data, &positions);
    assert_eq!((valid.len(), bad.len()), (19_800, 200), "1% of the messages are bad");
    let expected = expected_history(&data, &positions);
    assert_eq!(expected.len(), valid.len());
    let ends = end_offsets(&positions, 4);

    let config = history_config("dbw-exact", &group, &topic, &table, &table, 500);
    let mut host = Host::start("first", &config);
    wait_for_commits(&group, &topic, &ends, Duration::from_secs(180));

    let pool = database().await;
    assert_history(
        &read_history(&pool, &table, &topic).await,
        &expected,
        "after the first group",
    );
    assert_counts(&pool, &table, valid.len(), "after the first group").await;
    assert_only_bad_messages_dead_lettered(&topic, bad.len(), &bad);
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    // A new consumer group starts from the beginning: every batch is
    // delivered to the plugin again and every insert conflicts.
    let again = format!("{group}-again");
    let config = history_config("dbw-exact-again", &again, &topic, &table, &table, 500);
    let mut second = Host::start("second", &config);
    wait_for_commits(&again, &topic, &ends, Duration::from_secs(180));
    assert_history(
        &read_history(&pool, &table, &topic).await,
        &expected,
        "after a second group redelivered everything",
    );
    assert_counts(
        &pool,
        &table,
        valid.len(),
        "after a second group redelivered everything",
    )
    .await;
    // The second group's batches succeeded in the plugin (committed, none
    // dead-lettered by it): the conflicts were skipped, not failed.
    assert_only_bad_messages_dead_lettered(&topic, 2 * bad.len(), &bad);
    let status = second.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_before_any_commit_then_a_restart_leaves_one_row_per_fix() {
    let TestNames { topic, group, .. } = TestNames::create("dbw-kill", 4).await;
    let table = unique_table("dbw_kill");
    let _cleanup = DropTables(vec![table.clone()]);
    let data = fleet_data(500, 20_000, 100, 32);
    let pool = database().await;

    // The first host commits only every 10 minutes: when it is killed, every
    // row it wrote is uncommitted and is delivered again after the restart.
    let lazy = history_config("dbw-kill-lazy", &group, &topic, &table, &table, 600_000);
    let mut first = Host::start("first", &lazy);
    wait_until("the first host joined the group", Duration::from_secs(60), || {
        first.log().contains("partitions assigned")
    });
    let stream = tokio::spawn(produce_paced(
        topic.clone(),
        data.clone(),
        1_000,
        Duration::from_millis(300),
    ));
    wait_for_rows(&pool, &table, 2_000, Duration::from_secs(120)).await;
    assert!(!stream.is_finished(), "the stream was still flowing at the kill");
    first.kill();

    let committed = committed_offsets(&group, &topic, 4);
    let written = read_history(&pool, &table, &topic).await;
    let uncommitted_written = written
        .keys()
        .filter(|position| position.offset >= committed[position.partition as usize])
        .count();
    assert!(
        uncommitted_written >= 2_000,
        "the kill left written rows uncommitted, to be redelivered: {uncommitted_written} of {} rows \
         (committed {committed:?})",
        written.len()
    );

    eprintln!(
        "killed with {} rows written, {uncommitted_written} of them uncommitted (committed offsets {committed:?})",
        written.len()
    );

    let config = history_config("dbw-kill", &group, &topic, &table, &table, 500);
    let mut second = Host::start("second", &config);
    let positions = stream.await.expect("producer task");
    let (valid, bad) = split_positions(&data, &positions);
    wait_for_commits(&group, &topic, &end_offsets(&positions, 4), Duration::from_secs(180));

    assert_history(
        &read_history(&pool, &table, &topic).await,
        &expected_history(&data, &positions),
        "after a kill and a restart",
    );
    assert_counts(&pool, &table, valid.len(), "after a kill and a restart").await;
    assert_only_bad_messages_dead_lettered(&topic, bad.len(), &bad);
    let status = second.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_outside_the_grant_is_refused_visibly_and_never_created() {
    let TestNames { topic, group, .. } = TestNames::create("dbw-denied", 2).await;
    let configured = unique_table("dbw_ungranted");
    let granted = unique_table("dbw_granted");
    let _cleanup = DropTables(vec![configured.clone(), granted.clone()]);
    let data = fleet_data(20, 400, 0, 33);
    let positions = produce(&topic, &data).await;

    let config = history_config("dbw-denied", &group, &topic, &configured, &granted, 500);
    let mut host = Host::start("denied", &config);
    // Refused batches are dead-lettered, then committed: the partition flows on.
    wait_for_commits(&group, &topic, &end_offsets(&positions, 2), Duration::from_secs(120));

    let dead_letters = read_all(&format!("{topic}.dlq"), positions.len(), Duration::from_secs(2));
    assert_eq!(dead_letters.len(), positions.len(), "every fix dead-lettered once");
    assert_eq!(
        dead_letter_positions(&dead_letters),
        positions.iter().copied().collect::<BTreeSet<_>>(),
        "the dead letters name every fix"
    );
    for letter in &dead_letters {
        assert_eq!(letter.headers["fleethost.error.kind"], "plugin-error", "{letter:?}");
        let error = &letter.headers["fleethost.error"];
        assert!(
            error.contains("sql denied") && error.contains(&configured) && error.contains("sql_write"),
            "the reason names the refusal, the table and the grant: {letter:?}"
        );
        assert!(
            letter.headers["fleethost.plugin"].starts_with("db_writer@"),
            "{letter:?}"
        );
    }
    let log = host.log();
    assert!(log.contains("sql call refused"), "the host logged the refusal");
    assert!(
        log.lines()
            .any(|line| line.contains("sql denied") && line.contains(&configured)),
        "the host log names the denied table"
    );

    let pool = database().await;
    assert!(
        !table_exists(&pool, &configured).await,
        "the ungranted table {configured} was not created"
    );
    assert!(
        !table_exists(&pool, &granted).await,
        "the granted but unconfigured table {granted} was not created"
    );
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
