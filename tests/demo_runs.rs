//! Proves that demo runs one after another against the same Redis and
//! PostgreSQL do not mix: each names its own namespace at start (a key
//! prefix and a history table), and a second, smaller run shows only its
//! own drivers on `/api/map` and in its figures line, and writes its
//! history to its own table, whatever the first left behind; an edit of
//! its config file during the run reloads only the plugin edited, in the
//! run's namespace. Also that `--shutdown-timeout-ms` sets the demo's
//! shutdown bound.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::demo_run::{Stores, demo_args, demo_config, map_drivers, namespace};
use support::*;

/// Drivers of the first run, and of the second.
const FIRST: usize = 30;
const SECOND: usize = 10;

/// A demo run on the tests' Redis and PostgreSQL with `drivers` drivers, on
/// topics and groups of its own (as each `scripts/demo.sh` has a fresh
/// broker); `extra` flags after the usual ones. The host, its map's URL,
/// its data folder and its config file.
fn start_demo(name: &str, drivers: usize, extra: &[&str]) -> (Host, String, PathBuf, PathBuf) {
    let run = unique(name);
    let config = write_config_file(&run, &demo_config(&run, Stores::Test));
    let data_dir = std::env::temp_dir().join(&run);
    let map_port = free_port();
    let mut args = demo_args(&config, &data_dir, free_port(), map_port, drivers, 1);
    args.extend(extra.iter().map(|flag| flag.to_string()));
    let host = Host::start_with(
        name,
        config.with_extension("demo.log"),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    (host, format!("http://127.0.0.1:{map_port}"), data_dir, config)
}

/// Removes what a run wrote under its namespace: the keys under `prefix`
/// and its table.
async fn remove_namespace(prefix: &str, table: &str) {
    let mut redis = redis();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut redis)
        .expect("keys");
    if !keys.is_empty() {
        redis::cmd("DEL").arg(&keys).query::<()>(&mut redis).expect("del");
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&database().await)
        .await
        .expect("drop the run's table");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_demo_run_shows_only_its_own_drivers_and_history() {
    let (mut first, first_map, first_dir, _) =
        start_demo("demo-runs-first", FIRST, &["--shutdown-timeout-ms", "25000"]);
    tokio::task::block_in_place(|| {
        wait_until(
            "the first run has all its drivers on /api/map",
            Duration::from_secs(120),
            || {
                assert!(first.is_running(), "the first run exited:\n{}", first.log());
                map_drivers(&first_map, &first.log()).is_some_and(|drivers| drivers.len() == FIRST)
            },
        )
    });
    let status = tokio::task::block_in_place(|| first.terminate(Duration::from_secs(60)));
    let first_log = first.log();
    assert!(status.success(), "exit status {status}:\n{first_log}");
    assert!(
        first_log
            .lines()
            .any(|line| line.contains("shutting down") && line.contains("timeout_ms=25000")),
        "--shutdown-timeout-ms sets the bound:\n{first_log}"
    );
    let first_namespace = namespace(&first_log);

    let (mut second, second_map, second_dir, second_config) = start_demo("demo-runs-second", SECOND, &[]);
    tokio::task::block_in_place(|| {
        wait_until(
            "the second run has its drivers on /api/map and in a figures line",
            Duration::from_secs(120),
            || {
                assert!(second.is_running(), "the second run exited:\n{}", second.log());
                let drivers = map_drivers(&second_map, &second.log()).unwrap_or_default();
                assert!(
                    drivers.len() <= SECOND,
                    "the second run's map shows {} drivers, {SECOND} of them its own: {drivers:?}",
                    drivers.len()
                );
                drivers.len() == SECOND
                    && second
                        .log()
                        .lines()
                        .any(|line| line.starts_with(&format!("[demo] figures: {SECOND} drivers live")))
            },
        )
    });
    let second_log = second.log();
    for line in second_log.lines().filter(|line| line.starts_with("[demo] figures: ")) {
        assert!(
            !line.starts_with(&format!("[demo] figures: {FIRST} drivers live")),
            "an earlier run's drivers in the figures: {line}"
        );
    }

    let (first_prefix, first_table) = first_namespace.expect("the first run names its namespace");
    let (second_prefix, second_table) = namespace(&second_log).expect("the second run names its namespace");
    assert_ne!(first_prefix, second_prefix);
    assert_ne!(first_table, second_table);
    // The second run's history holds its own fixes only.
    tokio::task::block_in_place(|| {
        wait_until(
            "a figures line counts the second run's history",
            Duration::from_secs(60),
            || {
                second.log().lines().any(|line| {
                    line.starts_with(&format!("[demo] figures: {SECOND} drivers live"))
                        && line.contains(&format!("{second_table}: "))
                        && !line.contains(&format!("{second_table}: ? rows"))
                        && !line.contains(&format!("{second_table}: 0 rows"))
                })
            },
        )
    });
    let database = database().await;
    let (rows, foreign): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*), count(*) FILTER (WHERE kafka_topic NOT LIKE 'demo-runs-second-%') FROM {second_table}"
    )))
    .fetch_one(&database)
    .await
    .expect("count the second run's history");
    assert!(rows > 0, "no history in {second_table}");
    assert_eq!(foreign, 0, "rows of another run's topic in {second_table}");

    // An edit of the config file reloads the plugin edited, and only it: the
    // file read again is put in the run's namespace like the running config.
    let text = std::fs::read_to_string(&second_config).expect("the second run's config");
    let edited = text.replace("min_change_s = \"15\"", "min_change_s = \"16\"");
    assert_ne!(text, edited, "the example config sets eta's min_change_s to 15");
    std::fs::write(&second_config, edited).expect("edit the config");
    let reloaded = |log: &str| {
        log.lines()
            .filter(|line| line.contains("plugin config changed: new version active"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    tokio::task::block_in_place(|| {
        wait_until("the edited plugin is reloaded", Duration::from_secs(60), || {
            !reloaded(&second.log()).is_empty()
        })
    });
    std::thread::sleep(Duration::from_secs(2));
    let reloads = reloaded(&second.log());
    assert!(
        reloads.len() == 1 && reloads[0].contains("plugin=\"eta\""),
        "only eta is reloaded: {reloads:#?}"
    );

    let status = tokio::task::block_in_place(|| second.terminate(Duration::from_secs(60)));
    assert!(status.success(), "exit status {status}:\n{}", second.log());
    remove_namespace(&first_prefix, &first_table).await;
    remove_namespace(&second_prefix, &second_table).await;
    let _ = std::fs::remove_dir_all(&first_dir);
    let _ = std::fs::remove_dir_all(&second_dir);
}
