//! Proves the geofence plugin through the real broker and Redis: scripted routes of three drivers across a circle
//! and a polygon fence (one driver jittering a few metres across a circle's edge) and one order's lifecycle
//! (assigned, picked up, delivered) produce exactly the expected entered/exited/near/arrived notifications (type,
//! driver, fence or order point, fix time, distance), computed by the test's own haversine; and a full redelivery of
//! both topics to a new consumer group (same key prefix and notifications topic) re-emits none of them.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;
use support::geometry::*;
use support::*;

/// The plugin's thresholds in this test: deliberately not its defaults (25, 500 and 50 m), and the route has fixes
/// that would notify under the defaults but must not under these.
const HYSTERESIS_M: f64 = 30.0;
const NEAR_M: f64 = 400.0;
const ARRIVED_M: f64 = 40.0;
/// Every decision of the route (inside or outside a fence, beyond the hysteresis or not, within `near_m` /
/// `arrived_m` or not) is at least this far from its threshold, so that small differences between the test's
/// geometry and the plugin's (float rounding, a polygon edge measured on a local plane) cannot flip one.
const DECISION_MARGIN_M: f64 = 3.0;
/// How far a reported `distance_m` may be from the oracle's: the plugin rounds to 0.1 m; a polygon distance is
/// measured here on a local plane instead of the sphere (well under 0.5 m at a few hundred metres).
const CIRCLE_DISTANCE_TOLERANCE_M: f64 = 0.2;
const POLYGON_DISTANCE_TOLERANCE_M: f64 = 1.0;
/// Event time of the scenario's start (the assignment); fixes are one second apart.
const BASE_MS: i64 = 1_764_000_000_000;
const ASSIGNED_MS: i64 = BASE_MS;
const WINDOW_1_MS: i64 = BASE_MS + 10_000;
const PICKED_UP_MS: i64 = BASE_MS + 100_000;
const WINDOW_2_MS: i64 = BASE_MS + 110_000;
const DELIVERED_MS: i64 = BASE_MS + 200_000;
const WINDOW_3_MS: i64 = BASE_MS + 210_000;
/// Generous limit of every wait.
const TIMEOUT: Duration = Duration::from_secs(120);
/// How long to keep reading after the expected notifications arrived, to catch extra ones.
const SETTLE: Duration = Duration::from_secs(5);

const CROSSER: &str = "gf-crosser";
const JITTER: &str = "gf-jitter";
const COURIER: &str = "gf-courier";
const ORDER_ID: &str = "gf-order-1";

/// A static fence as the test configures and judges it.
#[derive(Debug, Clone)]
enum Shape {
    Circle {
        centre: LatLng,
        radius_m: f64,
    },
    /// The ring's vertices, not repeated at the end.
    Polygon(Vec<LatLng>),
}

#[derive(Debug, Clone)]
struct Fence {
    id: &'static str,
    shape: Shape,
}

impl Fence {
    /// The fence in the plugin's `fences` config format.
    fn config_text(&self) -> String {
        match &self.shape {
            Shape::Circle { centre, radius_m } => {
                format!("{}:circle:{},{},{radius_m}", self.id, centre.lat, centre.lng)
            }
            Shape::Polygon(ring) => {
                let vertices: Vec<String> = ring
                    .iter()
                    .map(|vertex| format!("{},{}", vertex.lat, vertex.lng))
                    .collect();
                format!("{}:polygon:{}", self.id, vertices.join(" "))
            }
        }
    }

    /// Inside: within a circle's radius; strictly inside a polygon (ray casting on latitude/longitude).
    fn contains(&self, point: LatLng) -> bool {
        match &self.shape {
            Shape::Circle { centre, radius_m } => haversine_m(*centre, point) <= *radius_m,
            Shape::Polygon(ring) => {
                let mut inside = false;
                for (index, a) in ring.iter().enumerate() {
                    let b = ring[(index + 1) % ring.len()];
                    if (a.lat > point.lat) != (b.lat > point.lat) {
                        let crossing_lng = a.lng + (point.lat - a.lat) / (b.lat - a.lat) * (b.lng - a.lng);
                        if point.lng < crossing_lng {
                            inside = !inside;
                        }
                    }
                }
                inside
            }
        }
    }

    /// Distance from a polygon's boundary, on a plane tangent at `point` (city scale: exact to well under a metre).
    fn distance_to_ring_m(ring: &[LatLng], point: LatLng) -> f64 {
        let metres_per_degree = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        let plane = |vertex: LatLng| {
            (
                (vertex.lng - point.lng) * metres_per_degree * point.lat.to_radians().cos(),
                (vertex.lat - point.lat) * metres_per_degree,
            )
        };
        let mut nearest = f64::INFINITY;
        for (index, a) in ring.iter().enumerate() {
            let (ax, ay) = plane(*a);
            let (bx, by) = plane(ring[(index + 1) % ring.len()]);
            let (dx, dy) = (bx - ax, by - ay);
            let along = (-(ax * dx + ay * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            let (x, y) = (ax + along * dx, ay + along * dy);
            nearest = nearest.min((x * x + y * y).sqrt());
        }
        nearest
    }

    /// What a notification about this fence reports as `distance_m`: to a circle's centre, to a polygon's boundary
    /// (0 inside).
    fn reported_distance_m(&self, point: LatLng) -> f64 {
        match &self.shape {
            Shape::Circle { centre, .. } => haversine_m(*centre, point),
            Shape::Polygon(_) if self.contains(point) => 0.0,
            Shape::Polygon(ring) => Self::distance_to_ring_m(ring, point),
        }
    }

    /// How far `point` lies beyond the edge (negative inside a circle, 0 inside a polygon).
    fn beyond_edge_m(&self, point: LatLng) -> f64 {
        match &self.shape {
            Shape::Circle { centre, radius_m } => haversine_m(*centre, point) - radius_m,
            Shape::Polygon(_) => self.reported_distance_m(point),
        }
    }

    /// Panics when `point` is closer than [`DECISION_MARGIN_M`] to a decision about this fence.
    fn assert_clear_of_thresholds(&self, point: LatLng, what: &str) {
        let edge_distance = match &self.shape {
            Shape::Circle { .. } => self.beyond_edge_m(point).abs(),
            Shape::Polygon(ring) => Self::distance_to_ring_m(ring, point),
        };
        let hysteresis_distance = (self.beyond_edge_m(point) - HYSTERESIS_M).abs();
        assert!(
            edge_distance >= DECISION_MARGIN_M && hysteresis_distance >= DECISION_MARGIN_M,
            "script error: {what} is {edge_distance:.2} m from the edge of {} and {hysteresis_distance:.2} m from its \
             hysteresis band",
            self.id
        );
    }

    fn distance_tolerance_m(&self) -> f64 {
        match self.shape {
            Shape::Circle { .. } => CIRCLE_DISTANCE_TOLERANCE_M,
            Shape::Polygon(_) => POLYGON_DISTANCE_TOLERANCE_M,
        }
    }
}

/// One scripted location fix.
#[derive(Debug, Clone, Copy)]
struct ScriptedFix {
    driver: &'static str,
    at_ms: i64,
    position: LatLng,
}

impl ScriptedFix {
    fn message(&self) -> (String, String) {
        (
            self.driver.to_string(),
            format!(
                r#"{{"driver_id":"{}","lat":{},"lng":{},"timestamp":{}}}"#,
                self.driver, self.position.lat, self.position.lng, self.at_ms
            ),
        )
    }
}

/// Fixes of `driver` through `points`, one second apart from `start_ms`.
fn route(driver: &'static str, start_ms: i64, points: &[LatLng]) -> Vec<ScriptedFix> {
    points
        .iter()
        .enumerate()
        .map(|(index, position)| ScriptedFix {
            driver,
            at_ms: start_ms + 1_000 * index as i64,
            position: *position,
        })
        .collect()
}

/// The scripted order of [`COURIER`].
#[derive(Debug, Clone, Copy)]
struct ScriptedOrder {
    pickup: LatLng,
    dropoff: LatLng,
}

impl ScriptedOrder {
    /// The point the courier heads to at event time `at_ms`, by the scripted step times.
    fn target_at(&self, at_ms: i64) -> Option<(&'static str, LatLng)> {
        if (ASSIGNED_MS..PICKED_UP_MS).contains(&at_ms) {
            Some(("pickup", self.pickup))
        } else if (PICKED_UP_MS..DELIVERED_MS).contains(&at_ms) {
            Some(("dropoff", self.dropoff))
        } else {
            None
        }
    }

    fn event(&self, kind: &str, at_ms: i64) -> (String, String) {
        let points = if kind == "order_assigned" {
            format!(
                r#","pickup":{{"lat":{},"lng":{}}},"dropoff":{{"lat":{},"lng":{}}}"#,
                self.pickup.lat, self.pickup.lng, self.dropoff.lat, self.dropoff.lng
            )
        } else {
            String::new()
        };
        (
            COURIER.to_string(),
            format!(
                r#"{{"type":"{kind}","order_id":"{ORDER_ID}","driver_id":"{COURIER}"{points},"timestamp":{at_ms}}}"#
            ),
        )
    }
}

/// The whole script: the fences, the order, and the fixes of each of the three windows (before the pickup, before
/// the delivery, after the delivery), in event-time order.
struct Script {
    fences: Vec<Fence>,
    order: ScriptedOrder,
    windows: [Vec<ScriptedFix>; 3],
}

fn script() -> Script {
    let hub_centre = at(12.97, 77.59);
    let hub = Fence {
        id: "hub",
        shape: Shape::Circle {
            centre: hub_centre,
            radius_m: 150.0,
        },
    };
    // About 650 m east-west by 555 m north-south.
    let block = Fence {
        id: "block",
        shape: Shape::Polygon(vec![
            at(12.98, 77.600),
            at(12.98, 77.606),
            at(12.985, 77.606),
            at(12.985, 77.600),
        ]),
    };
    let depot_centre = at(12.96, 77.61);
    let depot = Fence {
        id: "depot",
        shape: Shape::Circle {
            centre: depot_centre,
            radius_m: 100.0,
        },
    };
    let order = ScriptedOrder {
        pickup: at(12.976, 77.62),
        dropoff: destination(hub_centre, 270.0, 900.0),
    };
    let hub_at = |bearing: f64, metres: f64| destination(hub_centre, bearing, metres);
    let depot_at = |metres: f64| destination(depot_centre, 45.0, metres);
    let pickup_at = |metres: f64| destination(order.pickup, 0.0, metres);
    let dropoff_at = |metres: f64| destination(order.dropoff, 90.0, metres);
    // North along longitude 77.603 through the block.
    let block_at = |lat: f64| at(lat, 77.603);

    let mut windows = [
        [
            // West to east through the hub, lingering in its hysteresis band (170 m) before leaving.
            route(
                CROSSER,
                WINDOW_1_MS,
                &[
                    hub_at(270.0, 600.0),
                    hub_at(270.0, 300.0),
                    hub_at(270.0, 100.0),
                    hub_centre,
                    hub_at(90.0, 120.0),
                    hub_at(90.0, 170.0),
                    hub_at(90.0, 250.0),
                    hub_at(90.0, 600.0),
                ],
            ),
            // Jitter a few metres either side of the depot's 100 m edge.
            route(
                JITTER,
                WINDOW_1_MS,
                &[300.0, 104.0, 96.0, 105.0, 95.0, 104.0, 96.0, 106.0, 94.0].map(depot_at),
            ),
            // Towards the pickup: 430 m would be `near` with the default 500, 46 and 44 m `arrived` with the default 50.
            route(
                COURIER,
                WINDOW_1_MS,
                &[1200.0, 800.0, 430.0, 385.0, 200.0, 46.0, 44.0, 35.0, 44.0, 12.0].map(pickup_at),
            ),
        ]
        .concat(),
        [
            // North through the block, lingering 22 m beyond its north edge (inside the hysteresis) before leaving.
            route(
                CROSSER,
                WINDOW_2_MS,
                &[12.979, 12.9802, 12.983, 12.9849, 12.9852, 12.9856, 12.987].map(block_at),
            ),
            // Out through the hysteresis band, back in (jittering outside first), and out again.
            route(
                JITTER,
                WINDOW_2_MS,
                &[125.0, 112.0, 160.0, 104.0, 108.0, 96.0, 250.0].map(depot_at),
            ),
            // From the pickup through the hub to the drop-off: 430 m from it would be `near` with the default, 46 m
            // `arrived`.
            route(
                COURIER,
                WINDOW_2_MS,
                &[
                    order.pickup,
                    hub_at(90.0, 500.0),
                    hub_at(90.0, 100.0),
                    hub_at(270.0, 120.0),
                    hub_at(270.0, 330.0),
                    hub_at(270.0, 470.0),
                    hub_at(270.0, 520.0),
                    dropoff_at(120.0),
                    dropoff_at(46.0),
                    dropoff_at(36.0),
                    dropoff_at(44.0),
                    dropoff_at(10.0),
                ],
            ),
        ]
        .concat(),
        // After the delivery: from the drop-off back east through the hub.
        route(
            COURIER,
            WINDOW_3_MS,
            &[
                order.dropoff,
                dropoff_at(30.0),
                hub_at(270.0, 100.0),
                hub_at(90.0, 100.0),
                hub_at(90.0, 400.0),
            ],
        ),
    ];
    for window in &mut windows {
        window.sort_by_key(|fix| (fix.at_ms, fix.driver));
    }
    Script {
        fences: vec![hub, block, depot],
        order,
        windows,
    }
}

/// What a notification is about.
#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Fence(String),
    Order { order_id: String, point: String },
}

/// One notification, as expected or as read back.
#[derive(Debug, Clone)]
struct Notice {
    kind: String,
    driver_id: String,
    subject: Subject,
    ts_ms: i64,
    distance_m: f64,
    /// For expected notices: how far the reported distance may be off.
    tolerance_m: f64,
}

impl Notice {
    /// What must match exactly.
    fn identity(&self) -> (&str, &Subject, i64) {
        (&self.kind, &self.subject, self.ts_ms)
    }
}

/// The oracle: the notifications the script must produce, per driver in event-time order, from the rules in the
/// plugin's documentation evaluated with the test's own geometry.
fn expected_notices(script: &Script) -> BTreeMap<String, Vec<Notice>> {
    let mut by_driver: BTreeMap<&str, Vec<ScriptedFix>> = BTreeMap::new();
    for fix in script.windows.iter().flatten() {
        by_driver.entry(fix.driver).or_default().push(*fix);
    }
    let mut expected = BTreeMap::new();
    for (driver, mut fixes) in by_driver {
        fixes.sort_by_key(|fix| fix.at_ms);
        let mut inside: BTreeSet<&str> = BTreeSet::new();
        let mut sent: BTreeSet<(&str, &str)> = BTreeSet::new();
        let mut notices = Vec::new();
        for fix in fixes {
            let what = format!("the fix of {driver} at {}", fix.at_ms);
            let mut notify = |kind: &str, subject: Subject, distance_m: f64, tolerance_m: f64| {
                notices.push(Notice {
                    kind: kind.to_string(),
                    driver_id: driver.to_string(),
                    subject,
                    ts_ms: fix.at_ms,
                    distance_m,
                    tolerance_m,
                })
            };
            for fence in &script.fences {
                fence.assert_clear_of_thresholds(fix.position, &what);
                let transition = if !inside.contains(fence.id) && fence.contains(fix.position) {
                    inside.insert(fence.id);
                    Some("entered")
                } else if inside.contains(fence.id) && fence.beyond_edge_m(fix.position) > HYSTERESIS_M {
                    inside.remove(fence.id);
                    Some("exited")
                } else {
                    None
                };
                if let Some(kind) = transition {
                    notify(
                        kind,
                        Subject::Fence(fence.id.to_string()),
                        fence.reported_distance_m(fix.position),
                        fence.distance_tolerance_m(),
                    );
                }
            }
            if driver != COURIER {
                continue;
            }
            let Some((point, target)) = script.order.target_at(fix.at_ms) else {
                continue;
            };
            let distance_m = haversine_m(target, fix.position);
            for (kind, within_m) in [("near", NEAR_M), ("arrived", ARRIVED_M)] {
                assert!(
                    (distance_m - within_m).abs() >= DECISION_MARGIN_M,
                    "script error: {what} is {distance_m:.2} m from the {point}, too close to {kind} at {within_m} m"
                );
                if distance_m <= within_m && sent.insert((kind, point)) {
                    let subject = Subject::Order {
                        order_id: ORDER_ID.to_string(),
                        point: point.to_string(),
                    };
                    notify(kind, subject, distance_m, CIRCLE_DISTANCE_TOLERANCE_M);
                }
            }
        }
        expected.insert(driver.to_string(), notices);
    }
    expected
}

/// Checks the oracle against the scenario's intent, so that a script or oracle mistake cannot make the test vacuous.
fn assert_script_intent(script: &Script, expected: &BTreeMap<String, Vec<Notice>>) {
    let fence = |id: &str| Subject::Fence(id.to_string());
    let order = |point: &str| Subject::Order {
        order_id: ORDER_ID.to_string(),
        point: point.to_string(),
    };
    let intent: [(&str, Vec<(&str, Subject)>); 3] = [
        (
            CROSSER,
            vec![
                ("entered", fence("hub")),
                ("exited", fence("hub")),
                ("entered", fence("block")),
                ("exited", fence("block")),
            ],
        ),
        (
            JITTER,
            vec![
                ("entered", fence("depot")),
                ("exited", fence("depot")),
                ("entered", fence("depot")),
                ("exited", fence("depot")),
            ],
        ),
        (
            COURIER,
            vec![
                ("near", order("pickup")),
                ("arrived", order("pickup")),
                ("entered", fence("hub")),
                ("exited", fence("hub")),
                ("near", order("dropoff")),
                ("arrived", order("dropoff")),
                ("entered", fence("hub")),
                ("exited", fence("hub")),
            ],
        ),
    ];
    assert_eq!(expected.len(), intent.len(), "oracle drivers: {expected:#?}");
    for (driver, kinds) in intent {
        let computed: Vec<(&str, Subject)> = expected[driver]
            .iter()
            .map(|notice| (notice.kind.as_str(), notice.subject.clone()))
            .collect();
        assert_eq!(computed, kinds, "oracle of {driver} differs from the scenario's intent");
    }
    // The jitter really crosses the depot's edge back and forth while inside.
    let Shape::Circle { centre, radius_m } = script.fences[2].shape else {
        panic!("the depot is a circle");
    };
    let sides: Vec<bool> = script.windows[0]
        .iter()
        .filter(|fix| fix.driver == JITTER)
        .map(|fix| haversine_m(centre, fix.position) <= radius_m)
        .collect();
    let switches = sides.windows(2).filter(|pair| pair[0] != pair[1]).count();
    assert!(
        switches >= 6,
        "the jitter crosses the depot's edge only {switches} times"
    );
}

/// Parses the notifications read back, in topic order.
fn parse_notices(messages: &[DeadLetter]) -> Vec<Notice> {
    messages
        .iter()
        .map(|message| {
            let payload = message.payload.as_deref().unwrap_or_default();
            let json: Value = serde_json::from_str(payload).unwrap_or_else(|error| panic!("{payload}: {error}"));
            let text = |field: &str| {
                json[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("no string `{field}` in {payload}"))
                    .to_string()
            };
            let subject = if json.get("geofence_id").is_some() {
                Subject::Fence(text("geofence_id"))
            } else {
                Subject::Order {
                    order_id: text("order_id"),
                    point: text("point"),
                }
            };
            let driver_id = text("driver_id");
            assert_eq!(
                message.key.as_deref(),
                Some(driver_id.as_str()),
                "keyed by driver: {payload}"
            );
            Notice {
                kind: text("type"),
                driver_id,
                subject,
                ts_ms: json["ts_ms"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("no ts_ms in {payload}")),
                distance_m: json["distance_m"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("no distance_m in {payload}")),
                tolerance_m: 0.0,
            }
        })
        .collect()
}

/// Asserts that `actual` holds exactly the expected notifications, per driver in the expected order.
fn assert_notices(actual: &[Notice], expected: &BTreeMap<String, Vec<Notice>>) {
    let mut by_driver: BTreeMap<String, Vec<&Notice>> = BTreeMap::new();
    for notice in actual {
        by_driver.entry(notice.driver_id.clone()).or_default().push(notice);
    }
    let drivers: BTreeSet<&String> = by_driver.keys().chain(expected.keys()).collect();
    for driver in drivers {
        let got: Vec<_> = by_driver
            .get(driver)
            .map(|notices| notices.iter().map(|notice| notice.identity()).collect())
            .unwrap_or_default();
        let want: Vec<_> = expected
            .get(driver)
            .map(|notices| notices.iter().map(Notice::identity).collect())
            .unwrap_or_default();
        assert_eq!(
            got, want,
            "notifications of {driver} (type, subject, ts_ms): got left, expected right"
        );
        let got = by_driver.get(driver).map(Vec::as_slice).unwrap_or_default();
        for (got, want) in got.iter().zip(expected.get(driver).into_iter().flatten()) {
            assert!(
                (got.distance_m - want.distance_m).abs() <= want.tolerance_m,
                "distance_m of {got:?}: expected {:.2} ± {}",
                want.distance_m,
                want.tolerance_m
            );
        }
    }
}

/// The values the plugin keeps for every driver, as stored in Redis: its
/// hash holds exactly two records, `trip` and `geofence`.
fn driver_hashes(prefix: &str) -> BTreeMap<String, HashMap<String, String>> {
    let mut connection = redis();
    [CROSSER, JITTER, COURIER]
        .into_iter()
        .map(|driver| {
            let hash: BTreeMap<String, String> = redis::cmd("HGETALL")
                .arg(format!("{prefix}geofence:{driver}"))
                .query(&mut connection)
                .expect("hgetall");
            let records: Vec<&str> = hash.keys().map(String::as_str).collect();
            let expected: &[&str] = if driver == COURIER {
                &["geofence", "trip"]
            } else {
                &["geofence"]
            };
            assert_eq!(records, expected, "{driver}: {hash:?}");
            let values = hash
                .values()
                .flat_map(|record| {
                    fleethost_record::decode(record)
                        .map(|(name, value)| (name.to_string(), value.into_owned()))
                        .collect::<Vec<_>>()
                })
                .collect();
            (driver.to_string(), values)
        })
        .collect()
}

/// The geofence plugin on the run's topics with `fences` and the distances
/// the oracle uses.
fn geofence_config(group: &str, topic: &str, orders: &str, notifications: &str, prefix: &str, fences: &str) -> Config {
    let mut config = test_config(&redis_url());
    let mut pipeline = test_pipeline("geofence", group, topic, &["geofence"]);
    pipeline.order_topics = vec![orders.to_string()];
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
    let (hysteresis, near, arrived) = (HYSTERESIS_M.to_string(), NEAR_M.to_string(), ARRIVED_M.to_string());
    let mut plugin = test_plugin_writing(
        "geofence",
        &[
            ("key_prefix", prefix),
            ("notifications_topic", notifications),
            ("fences", fences),
            ("hysteresis_m", &hysteresis),
            ("near_m", &near),
            ("arrived_m", &arrived),
        ],
        prefix,
    );
    plugin.grants.produce_topics = vec![notifications.to_string()];
    config.plugins.insert("geofence".into(), plugin);
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_routes_notify_once_per_crossing_and_redelivery_re_emits_nothing() {
    const PARTITIONS: i32 = 2;
    let script = script();
    let expected = expected_notices(&script);
    assert_script_intent(&script, &expected);
    let expected_count: usize = expected.values().map(Vec::len).sum();

    let TestNames { topic, group, prefix } = TestNames::create("geofence", PARTITIONS).await;
    let orders = unique("geofence-order-events");
    create_topic(&orders, PARTITIONS).await;
    let notifications = unique("geofence-notifications");
    create_topic(&notifications, 1).await;
    let fences: Vec<String> = script.fences.iter().map(Fence::config_text).collect();
    let fences = fences.join("; ");
    let config = write_config_file(
        "geofence",
        &geofence_config(&group, &topic, &orders, &notifications, &prefix, &fences),
    );
    let mut host = Host::start("geofence", &config);

    // Each order step is applied before the fixes that follow it are produced (the two topics are processed by
    // different workers), and each window of fixes is processed before the next order step.
    let (mut order_positions, mut fix_positions) = (Vec::new(), Vec::new());
    let order_steps = [
        ("order_assigned", ASSIGNED_MS),
        ("picked_up", PICKED_UP_MS),
        ("delivered", DELIVERED_MS),
    ];
    for ((kind, at_ms), window) in order_steps.into_iter().zip(&script.windows) {
        order_positions.extend(produce_messages(&orders, &[script.order.event(kind, at_ms)]).await);
        wait_until_consumed(&group, &orders, PARTITIONS, &order_positions, TIMEOUT);
        let messages: Vec<(String, String)> = window.iter().map(ScriptedFix::message).collect();
        fix_positions.extend(produce_messages(&topic, &messages).await);
        wait_until_consumed(&group, &topic, PARTITIONS, &fix_positions, TIMEOUT);
    }

    let first_run = parse_notices(&read_all(&notifications, expected_count, SETTLE));
    assert_notices(&first_run, &expected);
    for source in [&topic, &orders] {
        assert!(
            read_all(&format!("{source}.dlq"), 0, Duration::from_secs(1)).is_empty(),
            "no scripted message of {source} is dead-lettered"
        );
    }
    let hashes = driver_hashes(&prefix);
    for (driver, hash) in &hashes {
        let newest_fix = script
            .windows
            .iter()
            .flatten()
            .filter(|fix| fix.driver == driver)
            .map(|fix| fix.at_ms)
            .max();
        assert_eq!(
            hash.get("last_fix_ms").and_then(|ms| ms.parse().ok()),
            newest_fix,
            "{driver}: {hash:?}"
        );
        assert_eq!(
            hash.get("inside").map(String::as_str),
            Some(""),
            "{driver} left every fence: {hash:?}"
        );
    }
    assert_eq!(hashes[COURIER].get("trip_phase").map(String::as_str), Some("delivered"));
    assert_eq!(hashes[COURIER].get("trip_order_id").map(String::as_str), Some(ORDER_ID));
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    // Full redelivery: a new consumer group reads both topics from the start, with the same key prefix and
    // notifications topic. The stored state must make every batch a no-op.
    let replay_group = unique("geofence-replay-group");
    let replay_config = write_config_file(
        "geofence-replay",
        &geofence_config(&replay_group, &topic, &orders, &notifications, &prefix, &fences),
    );
    let mut replay = Host::start("geofence-replay", &replay_config);
    wait_until_consumed(&replay_group, &orders, PARTITIONS, &order_positions, TIMEOUT);
    wait_until_consumed(&replay_group, &topic, PARTITIONS, &fix_positions, TIMEOUT);
    let after_replay = parse_notices(&read_all(&notifications, expected_count, SETTLE));
    assert_eq!(
        after_replay.len(),
        expected_count,
        "redelivery re-emitted notifications: {:#?}",
        &after_replay[expected_count.min(after_replay.len())..]
    );
    assert_notices(&after_replay, &expected);
    assert_eq!(driver_hashes(&prefix), hashes, "redelivery changed the stored state");
    let status = replay.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
