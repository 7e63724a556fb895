//! Proves `fleethost demo` on a machine without Redis or PostgreSQL: with
//! the example config pointed at a Redis and a PostgreSQL that do not
//! answer, the demo says so and runs on its embedded defaults (the
//! in-process store, a SQLite file). During the run: the gateway takes the
//! simulated fleet's WebSockets, every driver gets a live position on
//! `/api/map`, orders get ETAs, the history reaches the SQLite file, a
//! customer's WebSocket follows a driver through the embedded pub/sub, and
//! Debian's Chromium opens the live map, sees the drivers drawn and moving,
//! and saves target/test-output/demo-map.png. SIGTERM stops it with exit 0.

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message;

use support::chromium::{body_number, chromium, screenshot};
use support::demo_run::{Stores, demo_args, demo_config, get_json, operator_token};
use support::*;

/// Simulated drivers of the run.
const DRIVERS: usize = 30;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_on_embedded_defaults_and_chromium_sees_the_drivers_move() {
    let run = unique("demo");
    let config = write_config_file(&run, &demo_config(&run, Stores::Unreachable));
    let data_dir = std::env::temp_dir().join(&run);
    let (gateway_port, map_port) = (free_port(), free_port());
    let args = demo_args(&config, &data_dir, gateway_port, map_port, DRIVERS, 2);
    let mut demo = Host::start_with(
        "demo",
        config.with_extension("demo.log"),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let map_url = format!("http://127.0.0.1:{map_port}");

    tokio::task::block_in_place(|| {
        wait_until("the demo serves the live map", Duration::from_secs(60), || {
            assert!(demo.is_running(), "the demo exited:\n{}", demo.log());
            operator_token(&demo.log()).is_some_and(|token| get_json(&format!("{map_url}/stats"), &token).is_some())
        })
    });
    let log = demo.log();
    let token = operator_token(&log).expect("the demo printed its operator token");
    assert!(
        log.contains("[demo] kv: Redis at redis://127.0.0.1:1 does not answer")
            && log.contains("running on the embedded in-process store instead"),
        "the demo says it runs on the embedded store:\n{log}"
    );
    assert!(
        log.contains("[demo] sql: PostgreSQL at postgres://postgres@127.0.0.1:1/test does not answer")
            && log.contains("running on the embedded SQLite database"),
        "the demo says it runs on SQLite:\n{log}"
    );

    // A customer follows one driver through the embedded pub/sub.
    let (mut customer, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{map_port}/ws/track?driver=driver-000003&access_token={token}"
    ))
    .await
    .expect("customer WebSocket");

    tokio::task::block_in_place(|| {
        wait_until(
            "every driver is on /api/map and an order has an ETA",
            Duration::from_secs(120),
            || {
                assert!(demo.is_running(), "the demo exited:\n{}", demo.log());
                get_json(&format!("{map_url}/api/map"), &token).is_some_and(|map| {
                    map["drivers"]
                        .as_array()
                        .is_some_and(|drivers| drivers.len() == DRIVERS)
                        && map["etas"].as_array().is_some_and(|etas| !etas.is_empty())
                })
            },
        )
    });

    let mut positions = Vec::new();
    while positions.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(30), customer.next())
            .await
            .expect("a position within 30 s")
            .expect("the WebSocket is open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let message: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(
                message["driver_id"], "driver-000003",
                "only the watched driver: {message}"
            );
            positions.push(message["ts_ms"].as_i64().expect("ts_ms"));
        }
    }
    assert!(positions[0] < positions[1], "newer positions follow: {positions:?}");

    let url = format!("{map_url}/map?access_token={token}");
    let dom = chromium(&url, &["--dump-dom".to_string()]).await;
    let (drawn, moved, polls) = (
        body_number(&dom, "data-drivers"),
        body_number(&dom, "data-moved"),
        body_number(&dom, "data-polls"),
    );
    println!("Chromium during the demo: {drawn} drivers drawn, {moved} moved, {polls} polls");
    assert!(drawn >= DRIVERS as u64, "drivers drawn: {drawn}\n{dom}");
    assert!(moved > 0, "no driver moved between the last two polls ({polls} polls)");
    screenshot(&url, "demo-map.png").await;

    // The history is in the run's table of the SQLite file, and the figures
    // line says so.
    let (_, table) = support::demo_run::namespace(&demo.log()).expect("the demo names its namespace");
    let database = data_dir.join("fleethost-demo.sqlite");
    let mut sqlite = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
        .await
        .expect("the demo's SQLite file");
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut sqlite)
        .await
        .expect("count the history");
    assert!(rows > 0, "no history rows in {}", database.display());
    tokio::task::block_in_place(|| {
        wait_until("a figures line counts the history", Duration::from_secs(30), || {
            demo.log().lines().any(|line| {
                line.starts_with("[demo] figures: ")
                    && line.contains(&format!("{DRIVERS} drivers live"))
                    && !line.contains(&format!("{table}: ? rows"))
                    && !line.contains(&format!("{table}: 0 rows"))
            })
        })
    });

    let status = tokio::task::block_in_place(|| demo.terminate(Duration::from_secs(60)));
    assert!(status.success(), "exit status {status}:\n{}", demo.log());
    assert!(demo.log().contains("[demo] stopping: the fleet, then the gateway"));
    let _ = std::fs::remove_dir_all(&data_dir);
}
