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
    let (proxy, proxied_database) = database_proxy(false).await;

    let (live_group, history_group, fence_group) = (
        format!("{group}-live"),
        format!("{group}-history"),
        format!("{group}-fences"),
    );
    let mut config = test_config(&redis_url());
    config.database.url = Some(proxied_database);
    for (name, group, plugin) in [
        ("live", &live_group, "live_location"),
        ("history", &history_group, "db_writer"),
        ("fences", &fence_group, "geofence"),
    ] {
        add_pipeline(&mut config, name, group, &topic, &[plugin]);
    }
    add_plugins_under(&mut config, &["live_location"], &prefix);
    add_history_writer(&mut config, &table);
    // A circle over the south-west of the fleet's area: random fixes cross it.
    let mut fences = test_plugin_writing(
        "geofence",
        &[
            ("key_prefix", &prefix),
            ("notifications_topic", &notifications),
            ("fences", "sw:circle:12.95,77.55,4000"),
        ],
        &prefix,
    );
    fences.grants.produce_topics = vec![notifications.clone()];
    config.plugins.insert("geofence".into(), fences);
    let config = write_config_file("isolation", &config);
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

/// One thread of a process, from `/proc/PID/task/TID/stat`.
struct ThreadStat {
    name: String,
    nice: i64,
    cpu_ticks: u64,
}

fn threads(pid: u32) -> Vec<ThreadStat> {
    let mut tasks: Vec<std::path::PathBuf> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the host's threads")
        .map(|task| task.expect("a thread").path())
        .collect();
    // The main thread (TID = PID) first.
    tasks.sort_by_key(|path| path.file_name().and_then(|name| name.to_str()?.parse::<u32>().ok()) != Some(pid));
    let mut threads = Vec::new();
    for task in tasks {
        let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // "TID (NAME) STATE ..." where NAME may hold spaces: split after ')'.
        let name = stat[stat.find('(').unwrap() + 1..stat.rfind(')').unwrap()].to_string();
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        // After the name: field 3 (state) is fields[0]; utime 14, stime 15, nice 19.
        threads.push(ThreadStat {
            name,
            nice: fields[16].parse().expect("nice"),
            cpu_ticks: fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime"),
        });
    }
    threads
}

#[tokio::test(flavor = "multi_thread")]
async fn a_niced_pipeline_does_its_work_on_niced_threads() {
    let TestNames { topic, group, prefix } = TestNames::create("niced", 2).await;
    let niced_prefix = format!("{prefix}niced:");
    let data = fleet_data(200, 4_000, 0, 5);
    let mut config = test_config(&redis_url());
    for (name, group, plugin, prefix, nice) in [
        ("live", format!("{group}-live"), "live", &prefix, 0),
        ("live-niced", format!("{group}-niced"), "live_niced", &niced_prefix, 12),
    ] {
        let mut pipeline = test_pipeline(name, &group, &topic, &[plugin]);
        pipeline.batch.max_events = 200;
        pipeline.batch.max_wait_ms = 100;
        pipeline.nice = nice;
        config.pipelines.push(pipeline);
        config.plugins.insert(
            plugin.to_string(),
            test_plugin_writing("live_location", &[("key_prefix", prefix)], prefix),
        );
    }
    let config = write_config_file("niced", &config);
    let mut host = Host::start("niced", &config);
    let positions = produce(&topic, &data).await;
    let ends = end_offsets(&positions, 2);

    // Both pipelines do all of their work: nice changes when, not whether.
    wait_for_commits(&format!("{group}-live"), &topic, &ends, Duration::from_secs(120));
    wait_for_commits(&format!("{group}-niced"), &topic, &ends, Duration::from_secs(120));
    let newest = newest_per_driver(&data);
    assert_live_positions(&prefix, &newest);
    assert_live_positions(&niced_prefix, &newest);

    // The niced pipeline's work ran on threads of nice 12, and only there.
    let threads = threads(host.pid());
    // The host's main thread: whatever nice the test itself runs at.
    let base = threads[0].nice;
    let niced: Vec<&ThreadStat> = threads
        .iter()
        .filter(|thread| thread.name == "pipeline-nice12")
        .collect();
    assert!(
        !niced.is_empty(),
        "threads named pipeline-nice12 exist: {:?}",
        names(&threads)
    );
    assert!(
        niced.iter().all(|thread| thread.nice == 12.max(base)),
        "every pipeline-nice12 thread has nice 12 (or the host's own, when higher)"
    );
    assert!(
        niced.iter().map(|thread| thread.cpu_ticks).sum::<u64>() > 0,
        "the niced threads did work (decoding, plugin calls)"
    );
    assert!(
        threads
            .iter()
            .filter(|thread| thread.name != "pipeline-nice12")
            .all(|thread| thread.nice == base),
        "the rest of the host keeps its nice value ({base}): {:?}",
        threads
            .iter()
            .map(|thread| (&thread.name, thread.nice))
            .collect::<Vec<_>>()
    );

    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}

fn names(threads: &[ThreadStat]) -> Vec<&str> {
    threads.iter().map(|thread| thread.name.as_str()).collect()
}
