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
use support::*;

/// Simulated drivers of the run.
const DRIVERS: usize = 30;

/// The example config, on this test's own topics and groups, with the
/// plugins from the build and a Redis and a PostgreSQL that do not answer.
fn demo_config(run: &str) -> String {
    let mut text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/fleethost.toml"))
        .expect("examples/fleethost.toml");
    for name in [
        "rider-updates",
        "order-events",
        "eta-updates",
        "fare-updates",
        "delivery-notifications",
    ] {
        text = text.replace(&format!("\"{name}\""), &format!("\"{run}-{name}\""));
    }
    text = text.replace("group_id = \"fleethost-", &format!("group_id = \"{run}-"));
    for plugin in ["live_location", "db_writer", "eta", "fare", "geofence"] {
        text = text.replace(
            &format!("\"../target/wasm32-wasip2/plugin/{plugin}.wasm\""),
            &format!("{:?}", plugin_path(plugin).display().to_string()),
        );
    }
    text = text.replace(
        "bootstrap_servers = \"127.0.0.1:9092\"",
        &format!("bootstrap_servers = {:?}", bootstrap()),
    );
    text = text.replace("url = \"redis://127.0.0.1:6379\"", "url = \"redis://127.0.0.1:1\"");
    text = text.replace(
        "url = \"postgres://postgres@127.0.0.1:5432/test\"",
        "url = \"postgres://postgres@127.0.0.1:1/test\"",
    );
    text.replace(
        "listen = \"127.0.0.1:9464\"",
        &format!("listen = \"127.0.0.1:{}\"", free_port()),
    )
}

/// `GET url` as JSON, `None` while the server does not answer.
fn get_json(url: &str) -> Option<Value> {
    let mut response = ureq::get(url).call().ok()?;
    serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_on_embedded_defaults_and_chromium_sees_the_drivers_move() {
    let run = unique("demo");
    let config = write_config_text(&run, &demo_config(&run));
    let data_dir = std::env::temp_dir().join(&run);
    let (gateway_port, map_port) = (free_port(), free_port());
    let mut demo = Host::start_with(
        "demo",
        config.with_extension("demo.log"),
        &[
            "demo",
            "--config",
            config.to_str().expect("UTF-8 path"),
            "--data-dir",
            data_dir.to_str().expect("UTF-8 path"),
            "--gateway-listen",
            &format!("127.0.0.1:{gateway_port}"),
            "--map-listen",
            &format!("127.0.0.1:{map_port}"),
            "--drivers",
            &DRIVERS.to_string(),
            "--rate",
            &(DRIVERS * 2).to_string(),
            "--figures-interval",
            "2",
        ],
    );
    let map_url = format!("http://127.0.0.1:{map_port}");

    tokio::task::block_in_place(|| {
        wait_until("the demo serves the live map", Duration::from_secs(60), || {
            assert!(demo.is_running(), "the demo exited:\n{}", demo.log());
            get_json(&format!("{map_url}/stats")).is_some()
        })
    });
    let log = demo.log();
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
    let (mut customer, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{map_port}/ws/track?driver=driver-000003"))
            .await
            .expect("customer WebSocket");

    tokio::task::block_in_place(|| {
        wait_until(
            "every driver is on /api/map and an order has an ETA",
            Duration::from_secs(120),
            || {
                assert!(demo.is_running(), "the demo exited:\n{}", demo.log());
                get_json(&format!("{map_url}/api/map")).is_some_and(|map| {
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

    let url = format!("{map_url}/map");
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

    // The history is in the SQLite file, and the figures line says so.
    let database = data_dir.join("fleethost-demo.sqlite");
    let mut sqlite = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
        .await
        .expect("the demo's SQLite file");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM driver_locations")
        .fetch_one(&mut sqlite)
        .await
        .expect("count the history");
    assert!(rows > 0, "no history rows in {}", database.display());
    tokio::task::block_in_place(|| {
        wait_until("a figures line counts the history", Duration::from_secs(30), || {
            demo.log().lines().any(|line| {
                line.starts_with("[demo] figures: ")
                    && line.contains(&format!("{DRIVERS} drivers live"))
                    && !line.contains("driver_locations: ? rows")
                    && !line.contains("driver_locations: 0 rows")
            })
        })
    });

    let status = tokio::task::block_in_place(|| demo.terminate(Duration::from_secs(60)));
    assert!(status.success(), "exit status {status}:\n{}", demo.log());
    assert!(demo.log().contains("[demo] stopping: the fleet, then the gateway"));
    let _ = std::fs::remove_dir_all(&data_dir);
}
