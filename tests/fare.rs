//! Proves the fare plugin through the real broker and Redis: a zig-zag route of known segments in a surge region,
//! with GPS jitter (1–3 m moves), one impossible 5 km jump, fixes before the pickup (one of them arriving only after
//! it) and fixes after the delivery, is charged exactly the oracle's fare (the test's own haversine over the counted
//! fixes, pickup→delivery time, the configured tariff and surge), published exactly once on the fare topic and stored
//! with status `final` (the running fare before it), also after a full redelivery of both topics to a second host
//! with a new consumer group; a short trip outside the surge regions pays the minimum fare.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;
use support::geometry::*;
use support::*;

/// The tariff the test configures (not the plugin's defaults: 30, 12, 1.5, 50, no surge).
const BASE_FARE: f64 = 25.0;
const PER_KM: f64 = 11.0;
const PER_MINUTE: f64 = 2.0;
const MINIMUM_FARE: f64 = 40.0;
const CURRENCY: &str = "INR";
const SURGE: &[(&str, f64)] = &[("south", 1.4), ("north", 1.2)];
/// The odometer's thresholds as configured: moves shorter than `JITTER_M` from the last counted fix are not counted,
/// moves implying more than `MAX_SPEED_MPS` are impossible.
const JITTER_M: f64 = 5.0;
const MAX_SPEED_MPS: f64 = 70.0;
/// Every scripted move is at least this far from those thresholds, so that float details cannot flip one.
const THRESHOLD_MARGIN: f64 = 1.0;
/// The published `distance_m` (rounded to 0.1 m) must be this close to the oracle's.
const DISTANCE_TOLERANCE_M: f64 = 0.5;
/// The oracle's unrounded fare (in cents) must be at least this far from a half cent, so that the plugin's float
/// arithmetic (distance summed in another order, another haversine implementation: differences of ~1e-9 m) cannot
/// round it to another cent than the test's.
const HALF_CENT_MARGIN: f64 = 0.001;
/// Route fixes are 40 m and 4 s apart (10 m/s).
const STEP_M: f64 = 40.0;
const FIX_INTERVAL_MS: i64 = 4_000;
const BASE_MS: i64 = 1_764_000_000_000;
const PARTITIONS: i32 = 2;
/// Generous limit of every wait.
const TIMEOUT: Duration = Duration::from_secs(120);
/// How long to keep reading a topic after the expected messages arrived, to catch extra ones.
const SETTLE: Duration = Duration::from_secs(3);

/// What a scripted fix is, and so whether the fare counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// On the way to the pickup, produced (and processed) before the pickup event.
    BeforePickup,
    /// Timed before the pickup but produced after it (a late batch): judged by its own event time.
    LateBeforePickup,
    /// On the route between pickup and delivery: counted.
    Route,
    /// A 1–3 m move from the last route fix (a driver waiting at a light): not counted.
    Jitter,
    /// 5 km from the route and back 4 s later: impossible, not counted.
    Jump,
    /// After the delivery: not counted.
    AfterDelivery,
}

#[derive(Debug, Clone, Copy)]
struct ScriptedFix {
    at_ms: i64,
    position: LatLng,
    region: &'static str,
    kind: Kind,
}

/// One driver's scripted order.
#[derive(Debug, Clone)]
struct ScriptedTrip {
    driver: &'static str,
    order_id: &'static str,
    pickup: LatLng,
    dropoff: LatLng,
    assigned_ms: i64,
    picked_up_ms: i64,
    delivered_ms: i64,
    fixes: Vec<ScriptedFix>,
}

/// What a route is made of, in driving order.
enum Piece {
    /// `steps` fixes of [`STEP_M`] on a bearing.
    Leg { bearing_deg: f64, steps: usize },
    /// A fix `metres` from the last route fix on a bearing.
    Jitter { bearing_deg: f64, metres: f64 },
    /// A fix 5 km away.
    Jump,
}

impl ScriptedTrip {
    /// A trip picked up at `pickup` (the first route fix is there, at the pickup time), driving `pieces` one fix per
    /// [`FIX_INTERVAL_MS`], delivered one interval after the last fix; `before` fixes approach the pickup from the
    /// north beforehand, 50 m apart; three fixes follow the delivery.
    fn new(
        driver: &'static str,
        order_id: &'static str,
        pickup: LatLng,
        before: usize,
        region: &'static str,
        pieces: &[Piece],
    ) -> Self {
        let assigned_ms = BASE_MS;
        let mut fixes = Vec::new();
        for index in 0..before {
            fixes.push(ScriptedFix {
                at_ms: assigned_ms + (index as i64 + 1) * FIX_INTERVAL_MS,
                position: destination(pickup, 0.0, 50.0 * (before - index) as f64),
                region: "north",
                kind: Kind::BeforePickup,
            });
        }
        let picked_up_ms = assigned_ms + 60_000;
        fixes.push(ScriptedFix {
            at_ms: picked_up_ms - 2_000,
            position: destination(pickup, 0.0, 60.0),
            region: "north",
            kind: Kind::LateBeforePickup,
        });
        let mut now_ms = picked_up_ms;
        let mut push = |fixes: &mut Vec<ScriptedFix>, position: LatLng, kind: Kind| {
            fixes.push(ScriptedFix {
                at_ms: now_ms,
                position,
                region,
                kind,
            });
            now_ms += FIX_INTERVAL_MS;
        };
        push(&mut fixes, pickup, Kind::Route);
        let mut corner = pickup;
        let mut last_route = pickup;
        let mut bearing = 0.0;
        for piece in pieces {
            match *piece {
                Piece::Leg { bearing_deg, steps } => {
                    for step in 1..=steps {
                        last_route = destination(corner, bearing_deg, STEP_M * step as f64);
                        push(&mut fixes, last_route, Kind::Route);
                    }
                    corner = last_route;
                    bearing = bearing_deg;
                }
                Piece::Jitter { bearing_deg, metres } => {
                    push(&mut fixes, destination(last_route, bearing_deg, metres), Kind::Jitter)
                }
                Piece::Jump => push(&mut fixes, destination(last_route, 300.0, 5_000.0), Kind::Jump),
            }
        }
        let delivered_ms = now_ms;
        let dropoff = last_route;
        for step in 1..=3 {
            fixes.push(ScriptedFix {
                at_ms: delivered_ms + step * FIX_INTERVAL_MS,
                position: destination(dropoff, bearing, STEP_M * step as f64),
                region,
                kind: Kind::AfterDelivery,
            });
        }
        Self {
            driver,
            order_id,
            pickup,
            dropoff,
            assigned_ms,
            picked_up_ms,
            delivered_ms,
            fixes,
        }
    }

    fn route(&self) -> impl Iterator<Item = &ScriptedFix> {
        self.fixes.iter().filter(|fix| fix.kind == Kind::Route)
    }

    fn fix_message(&self, fix: &ScriptedFix) -> (String, String) {
        (
            self.driver.to_string(),
            format!(
                r#"{{"driver_id":"{}","lat":{},"lng":{},"timestamp":{},"state":"{}"}}"#,
                self.driver, fix.position.lat, fix.position.lng, fix.at_ms, fix.region
            ),
        )
    }

    fn order_event(&self, kind: &str) -> (String, String) {
        let (points, at_ms) = match kind {
            "order_assigned" => (
                format!(
                    r#","pickup":{{"lat":{},"lng":{}}},"dropoff":{{"lat":{},"lng":{}}}"#,
                    self.pickup.lat, self.pickup.lng, self.dropoff.lat, self.dropoff.lng
                ),
                self.assigned_ms,
            ),
            "picked_up" => (String::new(), self.picked_up_ms),
            "delivered" => (String::new(), self.delivered_ms),
            other => panic!("no scripted {other} event"),
        };
        (
            self.driver.to_string(),
            format!(
                r#"{{"type":"{kind}","order_id":"{}","driver_id":"{}"{points},"timestamp":{at_ms}}}"#,
                self.order_id, self.driver
            ),
        )
    }

    /// The oracle's fare up to event time `until_ms`: the haversine lengths of the segments between consecutive route
    /// fixes (jitter, the jump and everything outside pickup..delivery left out), the time since the pickup, the
    /// surge of the first route fix's region.
    fn oracle(&self, until_ms: i64) -> Expected {
        let route: Vec<&ScriptedFix> = self.route().filter(|fix| fix.at_ms <= until_ms).collect();
        let distance_m: f64 = route
            .windows(2)
            .map(|pair| haversine_m(pair[0].position, pair[1].position))
            .sum();
        let duration_s = (until_ms - self.picked_up_ms) as f64 / 1000.0;
        let region = route.first().expect("a route").region;
        let surge = SURGE
            .iter()
            .find(|(name, _)| *name == region)
            .map_or(1.0, |(_, multiplier)| *multiplier);
        let metered = BASE_FARE + PER_KM * distance_m / 1000.0 + PER_MINUTE * duration_s / 60.0;
        let fare = (metered * surge).max(MINIMUM_FARE);
        let cents = fare * 100.0;
        let from_half_cent = (cents - cents.floor() - 0.5).abs();
        assert!(
            from_half_cent >= HALF_CENT_MARGIN,
            "script error: the fare of {} at {until_ms} is {fare}, too close to a half cent",
            self.order_id
        );
        Expected {
            distance_m,
            duration_s,
            surge,
            fare_cents: cents.round() as i64,
            metered_cents: metered * surge * 100.0,
        }
    }

    /// Panics unless every scripted fix is clearly what its kind says for the odometer's rules.
    fn assert_script_intent(&self) {
        let mut last_route: Option<&ScriptedFix> = None;
        for fix in &self.fixes {
            let what = format!("{} fix at {} ({:?})", self.driver, fix.at_ms, fix.kind);
            let window = (self.picked_up_ms..=self.delivered_ms).contains(&fix.at_ms);
            assert_eq!(
                window,
                matches!(fix.kind, Kind::Route | Kind::Jitter | Kind::Jump),
                "script error: {what} is on the wrong side of the pickup or the delivery"
            );
            let Some(anchor) = last_route else {
                if fix.kind == Kind::Route {
                    last_route = Some(fix);
                }
                continue;
            };
            let distance = haversine_m(anchor.position, fix.position);
            let speed = distance / ((fix.at_ms - anchor.at_ms) as f64 / 1000.0);
            match fix.kind {
                Kind::Route => {
                    assert!(
                        distance >= JITTER_M + THRESHOLD_MARGIN && speed <= MAX_SPEED_MPS - THRESHOLD_MARGIN,
                        "script error: {what} moves {distance:.2} m at {speed:.2} m/s"
                    );
                    last_route = Some(fix);
                }
                Kind::Jitter => assert!(
                    (0.99..=3.01).contains(&distance) && distance <= JITTER_M - THRESHOLD_MARGIN,
                    "script error: {what} moves {distance:.2} m"
                ),
                Kind::Jump => assert!(
                    distance >= 4_900.0 && speed >= MAX_SPEED_MPS + THRESHOLD_MARGIN,
                    "script error: {what} moves {distance:.2} m at {speed:.2} m/s"
                ),
                _ => {}
            }
        }
    }
}

/// The oracle's figures of one fare.
#[derive(Debug, Clone, Copy)]
struct Expected {
    distance_m: f64,
    duration_s: f64,
    surge: f64,
    fare_cents: i64,
    /// `(base + per_km * km + per_minute * min) * surge` in cents, before the minimum and the rounding.
    metered_cents: f64,
}

/// One fare as published on the fare topic or stored in the `fare:{order_id}` hash.
#[derive(Debug, Clone, PartialEq)]
struct Fare {
    order_id: String,
    driver_id: String,
    status: String,
    distance_m: f64,
    duration_s: f64,
    fare: f64,
    currency: String,
    surge: f64,
    ts_ms: i64,
}

impl Fare {
    fn from_message(message: &DeadLetter) -> Self {
        let payload = message.payload.as_deref().unwrap_or_default();
        let json: Value = serde_json::from_str(payload).unwrap_or_else(|error| panic!("{payload}: {error}"));
        let text = |field: &str| {
            json[field]
                .as_str()
                .unwrap_or_else(|| panic!("no string `{field}` in {payload}"))
                .to_string()
        };
        let number = |field: &str| {
            json[field]
                .as_f64()
                .unwrap_or_else(|| panic!("no number `{field}` in {payload}"))
        };
        let fare = Self {
            order_id: text("order_id"),
            driver_id: text("driver_id"),
            status: text("status"),
            distance_m: number("distance_m"),
            duration_s: number("duration_s"),
            fare: number("fare"),
            currency: text("currency"),
            surge: number("surge"),
            ts_ms: json["ts_ms"]
                .as_i64()
                .unwrap_or_else(|| panic!("no integer ts_ms in {payload}")),
        };
        assert_eq!(
            message.key.as_deref(),
            Some(fare.order_id.as_str()),
            "keyed by order id: {payload}"
        );
        fare
    }

    fn from_hash(hash: &HashMap<String, String>) -> Self {
        let text = |field: &str| {
            hash.get(field)
                .unwrap_or_else(|| panic!("no `{field}` in {hash:?}"))
                .clone()
        };
        let number = |field: &str| {
            text(field)
                .parse::<f64>()
                .unwrap_or_else(|error| panic!("{field}: {error}"))
        };
        Self {
            order_id: text("order_id"),
            driver_id: text("driver_id"),
            status: text("status"),
            distance_m: number("distance_m"),
            duration_s: number("duration_s"),
            fare: number("fare"),
            currency: text("currency"),
            surge: number("surge"),
            ts_ms: text("ts_ms").parse().expect("ts_ms"),
        }
    }

    /// Asserts that this is `trip`'s fare in `status` at `ts_ms` as the oracle computes it.
    fn assert_is(&self, trip: &ScriptedTrip, status: &str, ts_ms: i64, expected: &Expected) {
        let what = format!("{status} fare of {}: {self:?}, oracle {expected:?}", trip.order_id);
        assert_eq!(
            (self.order_id.as_str(), self.driver_id.as_str(), self.status.as_str()),
            (trip.order_id, trip.driver, status),
            "{what}"
        );
        assert_eq!((self.currency.as_str(), self.ts_ms), (CURRENCY, ts_ms), "{what}");
        assert!(
            (self.distance_m - expected.distance_m).abs() <= DISTANCE_TOLERANCE_M,
            "distance of the {what}"
        );
        assert!(
            (self.duration_s - expected.duration_s).abs() < 1e-6,
            "duration of the {what}"
        );
        assert_eq!(self.surge, expected.surge, "surge of the {what}");
        assert_eq!(
            (self.fare * 100.0).round() as i64,
            expected.fare_cents,
            "fare (to the cent) of the {what}"
        );
    }
}

fn fare_hash(prefix: &str, order_id: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("{prefix}fare:{order_id}"))
        .query(&mut redis())
        .expect("hgetall")
}

/// The fare plugin on the run's topics, with the tariff the oracle uses.
fn fare_config(group: &str, topic: &str, orders: &str, fare_topic: &str, prefix: &str) -> Config {
    let surge: Vec<String> = SURGE
        .iter()
        .map(|(region, multiplier)| format!("{region}={multiplier}"))
        .collect();
    let mut config = test_config(&redis_url());
    let mut pipeline = test_pipeline("fare", group, topic, &["fare"]);
    pipeline.order_topics = vec![orders.to_string()];
    pipeline.batch.max_events = 500;
    pipeline.batch.max_wait_ms = 200;
    config.pipelines.push(pipeline);
    let tariff = [
        ("base_fare", BASE_FARE.to_string()),
        ("per_km", PER_KM.to_string()),
        ("per_minute", PER_MINUTE.to_string()),
        ("minimum_fare", MINIMUM_FARE.to_string()),
        ("currency", CURRENCY.to_string()),
        ("surge", surge.join(",")),
        ("jitter_m", JITTER_M.to_string()),
        ("max_speed_mps", MAX_SPEED_MPS.to_string()),
    ];
    let mut plugin = test_plugin_writing("fare", &[("key_prefix", prefix), ("fare_topic", fare_topic)], prefix);
    plugin
        .config
        .extend(tariff.map(|(key, value)| (key.to_string(), value)));
    plugin.grants.produce_topics = vec![fare_topic.to_string()];
    config.plugins.insert("fare".into(), plugin);
    config
}

/// The two trips: a zig-zag of 42 segments in the south (surge 1.4) with jitter at a corner and mid-leg and one jump;
/// a 160 m trip in the east (no surge) that pays the minimum fare.
fn trips() -> Vec<ScriptedTrip> {
    use Piece::*;
    let zig_zag = ScriptedTrip::new(
        "fare-driver",
        "fare-order-long",
        at(12.9352, 77.6245),
        8,
        "south",
        &[
            Leg {
                bearing_deg: 90.0,
                steps: 10,
            },
            Leg {
                bearing_deg: 0.0,
                steps: 6,
            },
            Jitter {
                bearing_deg: 30.0,
                metres: 1.5,
            },
            Jitter {
                bearing_deg: 200.0,
                metres: 2.5,
            },
            Jitter {
                bearing_deg: 310.0,
                metres: 1.0,
            },
            Leg {
                bearing_deg: 90.0,
                steps: 6,
            },
            Jump,
            Leg {
                bearing_deg: 90.0,
                steps: 6,
            },
            Leg {
                bearing_deg: 180.0,
                steps: 3,
            },
            Jitter {
                bearing_deg: 100.0,
                metres: 2.0,
            },
            Jitter {
                bearing_deg: 250.0,
                metres: 3.0,
            },
            Leg {
                bearing_deg: 180.0,
                steps: 2,
            },
            Leg {
                bearing_deg: 60.0,
                steps: 9,
            },
        ],
    );
    let short = ScriptedTrip::new(
        "fare-short",
        "fare-order-short",
        at(12.9716, 77.5946),
        3,
        "east",
        &[Leg {
            bearing_deg: 135.0,
            steps: 4,
        }],
    );
    vec![zig_zag, short]
}

/// Produces the fixes of `kinds` of every trip in event-time order.
async fn produce_fixes(topic: &str, trips: &[ScriptedTrip], kinds: &[Kind]) -> Vec<Position> {
    let mut fixes: Vec<(i64, (String, String))> = trips
        .iter()
        .flat_map(|trip| {
            trip.fixes
                .iter()
                .filter(|fix| kinds.contains(&fix.kind))
                .map(|fix| (fix.at_ms, trip.fix_message(fix)))
        })
        .collect();
    fixes.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.0.cmp(&b.1.0)));
    let messages: Vec<(String, String)> = fixes.into_iter().map(|(_, message)| message).collect();
    produce_messages(topic, &messages).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_final_fare_is_the_oracles_and_is_published_exactly_once() {
    let trips = trips();
    for trip in &trips {
        trip.assert_script_intent();
    }
    let finals: Vec<Expected> = trips.iter().map(|trip| trip.oracle(trip.delivered_ms)).collect();
    // The scenario's intent: the zig-zag is a surged fare above the minimum; the short trip pays the minimum only
    // because its metered price is below it.
    assert!(finals[0].surge == 1.4 && finals[0].metered_cents > MINIMUM_FARE * 100.0 + 1_000.0);
    assert!(finals[1].surge == 1.0 && finals[1].metered_cents < MINIMUM_FARE * 100.0 - 500.0);
    assert_eq!(finals[1].fare_cents, (MINIMUM_FARE * 100.0) as i64);
    for (trip, expected) in trips.iter().zip(&finals) {
        eprintln!("{}: oracle {expected:?}", trip.order_id);
    }

    let TestNames { topic, group, prefix } = TestNames::create("fare", PARTITIONS).await;
    let orders = unique("fare-order-events");
    create_topic(&orders, PARTITIONS).await;
    let fare_topic = unique("fare-updates");
    create_topic(&fare_topic, 1).await;
    let config = write_config_file("fare", &fare_config(&group, &topic, &orders, &fare_topic, &prefix));
    let mut host = Host::start("fare", &config);

    let (mut order_positions, mut fix_positions) = (Vec::new(), Vec::new());
    let events = |kind: &str| -> Vec<(String, String)> { trips.iter().map(|trip| trip.order_event(kind)).collect() };

    order_positions.extend(produce_messages(&orders, &events("order_assigned")).await);
    wait_until_consumed(&group, &orders, PARTITIONS, &order_positions, TIMEOUT);
    fix_positions.extend(produce_fixes(&topic, &trips, &[Kind::BeforePickup]).await);
    wait_until_consumed(&group, &topic, PARTITIONS, &fix_positions, TIMEOUT);
    for trip in &trips {
        assert!(
            fare_hash(&prefix, trip.order_id).is_empty(),
            "fixes before the pickup of {} made a fare",
            trip.order_id
        );
    }

    order_positions.extend(produce_messages(&orders, &events("picked_up")).await);
    wait_until_consumed(&group, &orders, PARTITIONS, &order_positions, TIMEOUT);
    let on_trip = [Kind::LateBeforePickup, Kind::Route, Kind::Jitter, Kind::Jump];
    fix_positions.extend(produce_fixes(&topic, &trips, &on_trip).await);
    wait_until_consumed(&group, &topic, PARTITIONS, &fix_positions, TIMEOUT);
    for trip in &trips {
        let last_ms = trip.route().last().expect("a route").at_ms;
        let running = Fare::from_hash(&fare_hash(&prefix, trip.order_id));
        running.assert_is(trip, "running", last_ms, &trip.oracle(last_ms));
    }

    order_positions.extend(produce_messages(&orders, &events("delivered")).await);
    wait_until_consumed(&group, &orders, PARTITIONS, &order_positions, TIMEOUT);
    fix_positions.extend(produce_fixes(&topic, &trips, &[Kind::AfterDelivery]).await);
    wait_until_consumed(&group, &topic, PARTITIONS, &fix_positions, TIMEOUT);

    let assert_finals = |messages: &[DeadLetter]| -> BTreeMap<String, HashMap<String, String>> {
        let published: Vec<Fare> = messages.iter().map(Fare::from_message).collect();
        assert_eq!(
            published.len(),
            trips.len(),
            "one final fare per delivered order: {published:#?}"
        );
        let mut hashes = BTreeMap::new();
        for (trip, expected) in trips.iter().zip(&finals) {
            let of_order: Vec<&Fare> = published.iter().filter(|fare| fare.order_id == trip.order_id).collect();
            assert_eq!(of_order.len(), 1, "final fares of {}: {of_order:#?}", trip.order_id);
            of_order[0].assert_is(trip, "final", trip.delivered_ms, expected);
            let hash = fare_hash(&prefix, trip.order_id);
            let stored = Fare::from_hash(&hash);
            assert_eq!(&stored, of_order[0], "the fare hash holds the published final fare");
            hashes.insert(trip.order_id.to_string(), hash);
        }
        hashes
    };
    let hashes = assert_finals(&read_all(&fare_topic, trips.len(), SETTLE));
    for source in [&topic, &orders] {
        assert!(
            read_all(&format!("{source}.dlq"), 0, Duration::from_secs(1)).is_empty(),
            "no scripted message of {source} is dead-lettered"
        );
    }
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");

    // Full redelivery: a second host with a new consumer group reads both topics from the start, with the same key
    // prefix and fare topic. No final fare may be published again, and the stored fares stay as they are.
    let replay_group = unique("fare-replay-group");
    let replay_config = write_config_file(
        "fare-replay",
        &fare_config(&replay_group, &topic, &orders, &fare_topic, &prefix),
    );
    let mut replay = Host::start("fare-replay", &replay_config);
    wait_until_consumed(&replay_group, &orders, PARTITIONS, &order_positions, TIMEOUT);
    wait_until_consumed(&replay_group, &topic, PARTITIONS, &fix_positions, TIMEOUT);
    let replayed = assert_finals(&read_all(&fare_topic, trips.len(), SETTLE));
    assert_eq!(replayed, hashes, "redelivery changed a stored fare");
    let status = replay.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
