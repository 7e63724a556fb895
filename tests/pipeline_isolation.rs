//! Proves that pipelines are isolated: with PostgreSQL unreachable for the DB
//! writer, live positions and geofence notifications keep flowing in their own
//! pipelines, the DB writer's partitions wait (nothing committed, nothing
//! dead-lettered), and once PostgreSQL is back it catches up without loss or
//! duplicates.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_delays_only_the_db_writer() {
    let TestNames { topic, group, prefix } = TestNames::create("isolation", 4).await;
    let notifications = unique("isolation-notifications");
    let table = unique_table("isolation_history");
    let data = fleet_data(100, 2_000, 50, 11);
    let valid = data.iter().filter(|fixture| fixture.valid.is_some()).count() as i64;

    // The DB writer reaches PostgreSQL through a proxy that starts cut.
    let proxy = TcpProxy::start("127.0.0.1:5432", false).await;
    let proxied_database = database_url().replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(
        proxied_database,
        database_url(),
        "the test database is expected at 127.0.0.1:5432"
    );

    let (live_group, history_group, fence_group) = (
        format!("{group}-live"),
        format!("{group}-history"),
        format!("{group}-fences"),
    );
    let batch = "batch = { max_events = 500, max_wait_ms = 200 }";
    let mut config = config_header(&redis_url());
    config.push_str(&database_section(&proxied_database));
    config.push_str(&pipeline_section(
        "live",
        &live_group,
        &topic,
        &["live_location"],
        batch,
    ));
    config.push_str(&pipeline_section(
        "history",
        &history_group,
        &topic,
        &["db_writer"],
        batch,
    ));
    config.push_str(&pipeline_section("fences", &fence_group, &topic, &["geofence"], batch));
    config.push_str(&plugin_with_grants(
        "live_location",
        "live_location",
        &format!("key_prefix = \"{prefix}\""),
        &format!("kv_write = [\"{prefix}\"]"),
    ));
    config.push_str(&plugin_with_grants(
        "db_writer",
        "db_writer",
        &format!("table = \"{table}\""),
        &format!("sql_write = [\"{table}\"]"),
    ));
    // A circle over the south-west of the fleet's area: random fixes cross it.
    config.push_str(&plugin_with_grants(
        "geofence",
        "geofence",
        &format!(
            "key_prefix = \"{prefix}\", notifications_topic = \"{notifications}\", \
             fences = \"sw:circle:12.95,77.55,4000\""
        ),
        &format!("kv_write = [\"{prefix}\"], produce_topics = [\"{notifications}\"]"),
    ));
    let config = write_config_text("isolation", &config);
    let mut host = Host::start("isolation", &config);
    let positions = produce(&topic, &data).await;
    let ends = end_offsets(&positions, 4);

    // Live tracking and notifications go on while the database is out.
    wait_for_commits(&live_group, &topic, &ends, Duration::from_secs(120));
    assert_live_positions(&prefix, &newest_per_driver(&data));
    wait_for_commits(&fence_group, &topic, &ends, Duration::from_secs(120));
    let sent = read_all(&notifications, 1, Duration::from_secs(1));
    assert!(
        sent.iter()
            .any(|message| message.payload.as_deref().unwrap_or("").contains("\"entered\"")),
        "geofence notifications flowed during the outage: {sent:?}"
    );
    assert!(
        host.log().contains("sql unavailable"),
        "the DB writer reported the database unavailable"
    );
    assert_eq!(
        committed_offsets(&history_group, &topic, 4),
        vec![-1; 4],
        "the DB writer committed nothing while the database was unreachable"
    );

    let pool = database().await;
    let dead_letters_before = read_all(&format!("{topic}.dlq"), 0, Duration::from_secs(2));
    assert!(
        dead_letters_before
            .iter()
            .all(|letter| letter.headers["fleethost.pipeline"] != "history"
                || !letter.headers.contains_key("fleethost.plugin")),
        "the outage dead-lettered no valid fix: {dead_letters_before:?}"
    );

    // PostgreSQL is back: the DB writer catches up, every valid fix once.
    proxy.restore();
    wait_for_commits(&history_group, &topic, &ends, Duration::from_secs(120));
    let (rows, distinct): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*), count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) FROM {table}"
    )))
    .fetch_one(&pool)
    .await
    .expect("count rows");
    assert_eq!((rows, distinct), (valid, valid), "every valid fix written once");

    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&pool)
        .await;
}
