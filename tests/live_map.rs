//! Proves the live map of `fleethost track`: `GET /api/map` lists the drivers of the GEO set with their positions, the ETA hashes (with their target) and the notifications published on `{P}live:notifications`; and, end to end (broker, `fleethost run` with live-location, the tracking server), Debian's Chromium headless opens `/map`, draws 20 moving drivers and saves a screenshot to target/test-output/live-map.png.

mod support;

use std::time::Duration;

use redis::Commands;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use support::chromium::{body_number, chromium, screenshot};
use support::*;

/// Drivers the browser test moves around.
const DRIVERS: usize = 20;

/// A `fleethost track` child process (its log is shown when a test fails).
struct Tracker(server::Server);

impl Tracker {
    /// Starts the tracking server for `prefix` on a free port and waits
    /// until `/health` answers.
    fn start(prefix: &str) -> Self {
        Self::start_with(&["track", "--redis-url", &redis_url(), "--key-prefix", prefix])
    }

    /// Starts `fleethost ARGS` (a `track` command line) likewise, with the
    /// tests' token key.
    fn start_with(args: &[&str]) -> Self {
        let key = token_key_arg();
        let args: Vec<&str> = args.iter().copied().chain(["--token-key", &key]).collect();
        Self(server::Server::start("tracking server", &args))
    }

    fn url(&self, path: &str) -> String {
        self.0.http(path)
    }

    /// `GET /api/map` as JSON.
    fn map(&self) -> Value {
        let mut response = ureq::get(&self.url("/api/map"))
            .header("Authorization", format!("Bearer {}", operator_token()))
            .call()
            .expect("GET /api/map");
        assert_eq!(response.status(), 200);
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("/api/map JSON")
    }
}

/// Where driver `index` is at `step`: on its own circle around the centre of
/// Bengaluru, a few metres further every step.
fn position(index: usize, step: u64) -> (f64, f64) {
    let angle = index as f64 * 0.7 + step as f64 * 0.01;
    let radius = 0.01 + index as f64 * 0.003;
    (12.97 + radius * angle.sin(), 77.59 + radius * angle.cos())
}

/// Writes a driver's position hash and adds it to the GEO set `geo_set`.
fn place_driver(redis: &mut redis::Connection, prefix: &str, geo_set: &str, id: &str, index: usize) {
    let (lat, lng) = position(index, 0);
    let _: () = redis
        .hset_multiple(
            format!("{prefix}driver:{id}"),
            &[
                ("lat", lat.to_string()),
                ("lng", lng.to_string()),
                ("ts_ms", (1_700_000_000_000u64 + index as u64).to_string()),
            ],
        )
        .expect("HSET driver");
    let _: () = redis::cmd("GEOADD")
        .arg(geo_set)
        .arg(lng)
        .arg(lat)
        .arg(id)
        .query(redis)
        .expect("GEOADD");
}

#[test]
fn with_the_host_config_the_map_reads_the_geo_set_live_location_writes() {
    let prefix = format!("{}:", unique("live-map-keys"));
    let mut config = test_config(&redis_url());
    config.pipelines.push(test_pipeline(
        "live",
        &unique("live-map-keys"),
        &unique("live-map-keys"),
        &["live-location"],
    ));
    config.plugins.insert(
        "live-location".into(),
        test_plugin_writing(
            "live_location",
            &[("key_prefix", &prefix), ("geo_key", "fleet:geo")],
            &prefix,
        ),
    );
    let config = write_config_file("live-map-keys", &config);
    let mut redis = redis();
    place_driver(
        &mut redis,
        &prefix,
        &format!("{prefix}fleet:geo"),
        "in-configured-set",
        0,
    );
    place_driver(
        &mut redis,
        &prefix,
        &format!("{prefix}drivers:geo"),
        "in-default-set",
        1,
    );

    let tracker = Tracker::start_with(&["track", "--config", &config.display().to_string()]);
    let map = tracker.map();
    let drivers: Vec<&str> = map["drivers"]
        .as_array()
        .expect("drivers")
        .iter()
        .filter_map(|driver| driver["id"].as_str())
        .collect();
    assert_eq!(drivers, ["in-configured-set"], "{map}");
}

#[test]
fn api_map_lists_drivers_etas_and_notifications() {
    let prefix = format!("{}:", unique("live-map-api"));
    let mut redis = redis();
    for index in 0..5 {
        place_driver(
            &mut redis,
            &prefix,
            &format!("{prefix}drivers:geo"),
            &format!("d{index}"),
            index,
        );
    }
    let _: () = redis
        .hset_multiple(
            format!("{prefix}eta:o-1"),
            &[
                ("order_id", "o-1"),
                ("driver_id", "d1"),
                ("phase", "to_pickup"),
                ("distance_m", "1234.5"),
                ("speed_mps", "8"),
                ("eta_s", "154.3"),
                ("ts_ms", "1700000000001"),
            ],
        )
        .expect("HSET eta");
    // The eta plugin's own trip state, its `trip` record: the target, and not an ETA itself.
    let trip = fleethost_record::encode([
        ("trip_order_id", "o-1"),
        ("trip_pickup_lat", "12.99"),
        ("trip_pickup_lng", "77.61"),
        ("trip_dropoff_lat", "13.01"),
        ("trip_dropoff_lng", "77.62"),
    ]);
    let _: () = redis
        .hset(format!("{prefix}eta:trip:d1"), "trip", trip)
        .expect("HSET trip");

    let tracker = Tracker::start(&prefix);
    let map = tracker.map();
    let drivers = map["drivers"].as_array().expect("drivers");
    assert_eq!(drivers.len(), 5, "{map}");
    let d3 = drivers.iter().find(|driver| driver["id"] == "d3").expect("d3 listed");
    let (lat, lng) = position(3, 0);
    assert_eq!(d3["lat"].as_f64(), Some(lat));
    assert_eq!(d3["lng"].as_f64(), Some(lng));
    assert_eq!(d3["ts_ms"], 1_700_000_000_003u64);
    let etas = map["etas"].as_array().expect("etas");
    assert_eq!(etas.len(), 1, "only eta:o-1, not eta:trip:d1: {map}");
    assert_eq!(etas[0]["order_id"], "o-1");
    assert_eq!(etas[0]["driver_id"], "d1");
    assert_eq!(etas[0]["phase"], "to_pickup");
    assert_eq!(etas[0]["eta_s"].as_f64(), Some(154.3));
    assert_eq!(etas[0]["distance_m"].as_f64(), Some(1234.5));
    assert_eq!(
        (etas[0]["target_lat"].as_f64(), etas[0]["target_lng"].as_f64()),
        (Some(12.99), Some(77.61))
    );
    assert_eq!(map["notifications"], serde_json::json!([]));

    // The feed's permanent subscription, then two notifications, newest first.
    let channel = format!("{prefix}live:notifications");
    wait_until(
        "the tracking server subscribed the notifications",
        Duration::from_secs(30),
        || {
            let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query(&mut redis)
                .expect("PUBSUB NUMSUB");
            subscribers == 1
        },
    );
    for kind in ["near", "arrived"] {
        let notification = format!(
            r#"{{"type":"{kind}","driver_id":"d1","order_id":"o-1","point":"pickup","ts_ms":1700000000002,"distance_m":40.0}}"#
        );
        let _: () = redis.publish(&channel, notification).expect("PUBLISH");
    }
    wait_until("both notifications are on the map", Duration::from_secs(10), || {
        tracker.map()["notifications"]
            .as_array()
            .is_some_and(|list| list.len() == 2)
    });
    let notifications = tracker.map()["notifications"].clone();
    assert_eq!(notifications[0]["type"], "arrived", "newest first: {notifications}");
    assert_eq!(notifications[1]["type"], "near");
    assert_eq!(notifications[1]["order_id"], "o-1");
    // The feed is the server's own: no customer channel in /stats.
    let mut stats = ureq::get(&tracker.url("/stats"))
        .header("Authorization", format!("Bearer {}", operator_token()))
        .call()
        .expect("GET /stats");
    let stats: Value = serde_json::from_str(&stats.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(
        (stats["channels"].as_u64(), stats["watchers"].as_u64()),
        (Some(0), Some(0))
    );

    let mut page = ureq::get(&tracker.url(&format!("/map?access_token={}", operator_token())))
        .call()
        .expect("GET /map");
    let html = page.body_mut().read_to_string().expect("page");
    assert!(html.contains("<canvas") && html.contains("/api/map"), "the page");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from outside"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_draws_moving_drivers_and_saves_a_screenshot() {
    let TestNames { topic, group, prefix } = TestNames::create("live-map", 1).await;
    let config = write_config("live-map", &topic, &group, &prefix, &["live_location"]);
    let host = Host::start("live-map", &config);
    let tracker = Tracker::start(&prefix);

    // Every driver gets a new fix every 500 ms until the test ends.
    let stop = CancellationToken::new();
    let fleet = tokio::spawn({
        let (topic, stop) = (topic.clone(), stop.clone());
        async move {
            let base_ms: u64 = 1_700_000_000_000;
            for step in 0u64.. {
                let fixes: Vec<(String, String)> = (0..DRIVERS)
                    .map(|index| {
                        let (lat, lng) = position(index, step);
                        let payload = format!(
                            r#"{{"driver_id":"m{index}","lat":{lat},"lng":{lng},"timestamp":{}}}"#,
                            base_ms + step * 500
                        );
                        (format!("m{index}"), payload)
                    })
                    .collect();
                produce_messages(&topic, &fixes).await;
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    });
    tokio::task::block_in_place(|| {
        wait_until("every driver is on /api/map", Duration::from_secs(120), || {
            tracker.map()["drivers"]
                .as_array()
                .is_some_and(|drivers| drivers.len() == DRIVERS)
        })
    });

    // One driver on a trip, so that the screenshot shows a trip and its ETA.
    let mut redis = redis();
    let _: () = redis
        .hset_multiple(
            format!("{prefix}eta:o-m3"),
            &[
                ("order_id", "o-m3"),
                ("driver_id", "m3"),
                ("phase", "to_dropoff"),
                ("distance_m", "2400"),
                ("eta_s", "300"),
            ],
        )
        .expect("HSET eta");
    // A trip as earlier eta versions stored it, one field per value.
    let _: () = redis
        .hset_multiple(
            format!("{prefix}eta:trip:m3"),
            &[
                ("trip_order_id", "o-m3"),
                ("trip_dropoff_lat", "13.02"),
                ("trip_dropoff_lng", "77.65"),
            ],
        )
        .expect("HSET trip");

    // Six parked drivers on one spot, each on a trip: only four ETA labels
    // fit around one point without overlapping.
    for index in 0..6 {
        let id = format!("parked{index}");
        let _: () = redis
            .hset_multiple(
                format!("{prefix}driver:{id}"),
                &[("lat", "12.93"), ("lng", "77.62"), ("ts_ms", "1700000000000")],
            )
            .expect("HSET parked driver");
        let _: () = redis::cmd("GEOADD")
            .arg(format!("{prefix}drivers:geo"))
            .arg(77.62)
            .arg(12.93)
            .arg(&id)
            .query(&mut redis)
            .expect("GEOADD");
        let _: () = redis
            .hset_multiple(
                format!("{prefix}eta:o-{id}"),
                &[
                    ("order_id", format!("o-{id}")),
                    ("driver_id", id.clone()),
                    ("phase", "to_pickup".to_string()),
                    ("eta_s", (60 + index).to_string()),
                ],
            )
            .expect("HSET eta");
    }

    // The page passes the token it was opened with on to /api/map.
    let url = tracker.url(&format!("/map?access_token={}", operator_token()));
    let dom = chromium(&url, &["--dump-dom".to_string()]).await;
    let (drawn, moved, polls) = (
        body_number(&dom, "data-drivers"),
        body_number(&dom, "data-moved"),
        body_number(&dom, "data-polls"),
    );
    let (labels, hidden) = (
        body_number(&dom, "data-labels"),
        body_number(&dom, "data-labels-hidden"),
    );
    println!("Chromium: {drawn} drivers drawn, {moved} moved, {polls} polls, {labels} ETA labels, {hidden} left out");
    assert!(drawn >= DRIVERS as u64 + 6, "drivers drawn: {drawn}\n{dom}");
    assert!(moved > 0, "no driver moved between the last two polls ({polls} polls)");
    assert_eq!(labels + hidden, 7, "every trip's label is drawn or counted as left out");
    assert!(
        hidden >= 2,
        "six labels on one spot cannot all fit: {labels} drawn, {hidden} left out"
    );

    screenshot(&url, "live-map.png").await;

    stop.cancel();
    fleet.await.expect("the fleet task");
    drop(host);
}
