//! Proves the eta plugin through the real broker and Redis: three drivers on scripted trips at known constant speeds
//! (8, 12 and 15 m/s, a fix every 2 s) get estimates that match the oracle "true remaining straight-line distance
//! (the test's own haversine) / true speed" at the fix each was made from, in the right phase (`to_pickup`, then
//! `to_dropoff` after the pickup), on the eta topic and in the `eta:{order_id}` hash, which the delivery deletes (and
//! later fixes do not bring back); and that with the default change thresholds a steady driver does not get an
//! estimate published on every fix, only on meaningful changes.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::geometry::*;
use support::*;

/// Event time of the assignments; every scripted time is after it.
const BASE_MS: i64 = 1_764_000_000_000;
/// Fixes are this far apart in event time (and in wall-clock intent: the event times match the speeds).
const FIX_INTERVAL_MS: i64 = 2_000;
/// An estimate passes when `|eta_s - oracle| <= max(ETA_TOLERANCE_S, ETA_TOLERANCE_RATIO * oracle)`.
const ETA_TOLERANCE_S: f64 = 3.0;
const ETA_TOLERANCE_RATIO: f64 = 0.05;
/// The published `distance_m` (rounded to 0.1 m) must be this close to the oracle's distance.
const DISTANCE_TOLERANCE_M: f64 = 1.0;
/// The published `speed_mps` is rounded to 0.01 m/s.
const SPEED_TOLERANCE_MPS: f64 = 0.0051;
/// Partitions of the fix and order topics.
const PARTITIONS: i32 = 2;
/// Generous limit of every wait.
const TIMEOUT: Duration = Duration::from_secs(120);
/// How long to keep reading a topic after the expected messages arrived, to catch extra ones.
const SETTLE: Duration = Duration::from_secs(3);

/// Which part of the trip a fix belongs to (by the scripted step times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    ToPickup,
    ToDropoff,
    AfterDelivery,
}

impl Leg {
    /// The phase an estimate made from a fix of this leg must name.
    fn phase(self) -> Option<&'static str> {
        match self {
            Leg::ToPickup => Some("to_pickup"),
            Leg::ToDropoff => Some("to_dropoff"),
            Leg::AfterDelivery => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct ScriptedFix {
    at_ms: i64,
    position: LatLng,
    leg: Leg,
}

/// One driver's scripted order at a constant speed: `fixes_per_leg` fixes on a straight line towards the pickup,
/// the last `remaining_steps` steps to it driven without fixes; from the pickup (a fix there) on another straight
/// line towards the drop-off, likewise; then three fixes after the delivery. Every move between consecutive fixes
/// is along one great circle at exactly `speed_mps`.
#[derive(Debug, Clone)]
struct ScriptedTrip {
    driver: String,
    order_id: String,
    speed_mps: f64,
    pickup: LatLng,
    dropoff: LatLng,
    assigned_ms: i64,
    picked_up_ms: i64,
    delivered_ms: i64,
    fixes: Vec<ScriptedFix>,
}

impl ScriptedTrip {
    #[allow(clippy::too_many_arguments)]
    fn new(
        driver: &str,
        order_id: &str,
        speed_mps: f64,
        start: LatLng,
        bearing_to_pickup: f64,
        bearing_to_dropoff: f64,
        fixes_per_leg: i64,
        remaining_steps: i64,
    ) -> Self {
        let step_m = speed_mps * FIX_INTERVAL_MS as f64 / 1000.0;
        let leg_m = (fixes_per_leg - 1 + remaining_steps) as f64 * step_m;
        let pickup = destination(start, bearing_to_pickup, leg_m);
        let dropoff = destination(pickup, bearing_to_dropoff, leg_m);
        let assigned_ms = BASE_MS;
        let mut fixes = Vec::new();
        for step in 0..fixes_per_leg {
            fixes.push(ScriptedFix {
                at_ms: assigned_ms + (step + 1) * FIX_INTERVAL_MS,
                position: destination(start, bearing_to_pickup, step as f64 * step_m),
                leg: Leg::ToPickup,
            });
        }
        // Arrival at the pickup: the first fix of the next leg is there.
        let picked_up_ms = assigned_ms + (fixes_per_leg + remaining_steps) * FIX_INTERVAL_MS;
        for step in 0..fixes_per_leg {
            fixes.push(ScriptedFix {
                at_ms: picked_up_ms + step * FIX_INTERVAL_MS,
                position: destination(pickup, bearing_to_dropoff, step as f64 * step_m),
                leg: Leg::ToDropoff,
            });
        }
        let delivered_ms = picked_up_ms + (fixes_per_leg - 1 + remaining_steps) * FIX_INTERVAL_MS;
        for step in 1..=3 {
            fixes.push(ScriptedFix {
                at_ms: delivered_ms + step * FIX_INTERVAL_MS,
                position: destination(dropoff, bearing_to_dropoff, step as f64 * step_m),
                leg: Leg::AfterDelivery,
            });
        }
        Self {
            driver: driver.to_string(),
            order_id: order_id.to_string(),
            speed_mps,
            pickup,
            dropoff,
            assigned_ms,
            picked_up_ms,
            delivered_ms,
            fixes,
        }
    }

    fn fixes_of(&self, leg: Leg) -> impl Iterator<Item = &ScriptedFix> {
        self.fixes.iter().filter(move |fix| fix.leg == leg)
    }

    fn last_fix_of(&self, leg: Leg) -> &ScriptedFix {
        self.fixes_of(leg).last().expect("every leg has fixes")
    }

    fn messages_of(&self, leg: Leg) -> Vec<(String, String)> {
        self.fixes_of(leg)
            .map(|fix| {
                (
                    self.driver.clone(),
                    format!(
                        r#"{{"driver_id":"{}","lat":{},"lng":{},"timestamp":{}}}"#,
                        self.driver, fix.position.lat, fix.position.lng, fix.at_ms
                    ),
                )
            })
            .collect()
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
            self.driver.clone(),
            format!(
                r#"{{"type":"{kind}","order_id":"{}","driver_id":"{}"{points},"timestamp":{at_ms}}}"#,
                self.order_id, self.driver
            ),
        )
    }

    /// The oracle at `fix`: the true straight-line distance to the leg's target and the driver's true speed, except
    /// at the driver's very first fix, where no speed can have been measured yet and the configured
    /// `default_speed_mps` applies.
    fn oracle(&self, fix: &ScriptedFix, default_speed_mps: f64) -> Oracle {
        let target = match fix.leg {
            Leg::ToPickup => self.pickup,
            Leg::ToDropoff => self.dropoff,
            Leg::AfterDelivery => panic!("no estimate is due after the delivery"),
        };
        let first_fix = self.fixes.first().is_some_and(|first| first.at_ms == fix.at_ms);
        let speed_mps = if first_fix { default_speed_mps } else { self.speed_mps };
        let distance_m = haversine_m(fix.position, target);
        Oracle {
            distance_m,
            speed_mps,
            eta_s: distance_m / speed_mps,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Oracle {
    distance_m: f64,
    speed_mps: f64,
    eta_s: f64,
}

/// One estimate as published on the eta topic or stored in the `eta:{order_id}` hash.
#[derive(Debug, Clone, PartialEq)]
struct Estimate {
    order_id: String,
    driver_id: String,
    phase: String,
    distance_m: f64,
    speed_mps: f64,
    eta_s: i64,
    ts_ms: i64,
}

impl Estimate {
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
        let integer = |field: &str| {
            json[field]
                .as_i64()
                .unwrap_or_else(|| panic!("no integer `{field}` in {payload}"))
        };
        let estimate = Self {
            order_id: text("order_id"),
            driver_id: text("driver_id"),
            phase: text("phase"),
            distance_m: number("distance_m"),
            speed_mps: number("speed_mps"),
            eta_s: integer("eta_s"),
            ts_ms: integer("ts_ms"),
        };
        assert_eq!(
            message.key.as_deref(),
            Some(estimate.order_id.as_str()),
            "keyed by order id: {payload}"
        );
        estimate
    }

    fn from_hash(hash: &HashMap<String, String>) -> Self {
        let text = |field: &str| {
            hash.get(field)
                .unwrap_or_else(|| panic!("no `{field}` in {hash:?}"))
                .clone()
        };
        let parsed = |field: &str| {
            text(field)
                .parse::<f64>()
                .unwrap_or_else(|error| panic!("{field}: {error}"))
        };
        let integer = |field: &str| {
            text(field)
                .parse::<i64>()
                .unwrap_or_else(|error| panic!("{field}: {error}"))
        };
        Self {
            order_id: text("order_id"),
            driver_id: text("driver_id"),
            phase: text("phase"),
            distance_m: parsed("distance_m"),
            speed_mps: parsed("speed_mps"),
            eta_s: integer("eta_s"),
            ts_ms: integer("ts_ms"),
        }
    }
}

/// The estimates on `topic` (one partition, so in publishing order), read again until `done` holds for them.
fn read_estimates_until(topic: &str, what: &str, done: impl Fn(&[Estimate]) -> bool) -> Vec<Estimate> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let estimates: Vec<Estimate> = read_all(topic, 1, SETTLE).iter().map(Estimate::from_message).collect();
        if done(&estimates) {
            return estimates;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting until {what}; read {estimates:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Asserts that `estimate` is the oracle's for the scripted fix it names (by driver and event time): the phase of that
/// fix's leg, the distance within [`DISTANCE_TOLERANCE_M`], the speed within rounding, the ETA within
/// max([`ETA_TOLERANCE_S`], [`ETA_TOLERANCE_RATIO`]).
fn assert_matches_oracle(trips: &[ScriptedTrip], estimate: &Estimate, default_speed_mps: f64) {
    let trip = trips
        .iter()
        .find(|trip| trip.order_id == estimate.order_id)
        .unwrap_or_else(|| panic!("estimate of an unknown order: {estimate:?}"));
    assert_eq!(estimate.driver_id, trip.driver, "{estimate:?}");
    let fix = trip
        .fixes
        .iter()
        .find(|fix| fix.at_ms == estimate.ts_ms)
        .unwrap_or_else(|| panic!("ts_ms of no scripted fix of {}: {estimate:?}", trip.driver));
    assert_eq!(
        Some(estimate.phase.as_str()),
        fix.leg.phase(),
        "phase of the estimate made from the fix at {} ({:?}): {estimate:?}",
        fix.at_ms,
        fix.leg
    );
    let oracle = trip.oracle(fix, default_speed_mps);
    assert!(
        (estimate.distance_m - oracle.distance_m).abs() <= DISTANCE_TOLERANCE_M,
        "distance_m {} vs oracle {:.2}: {estimate:?}",
        estimate.distance_m,
        oracle.distance_m
    );
    assert!(
        (estimate.speed_mps - oracle.speed_mps).abs() <= SPEED_TOLERANCE_MPS,
        "speed_mps {} vs true speed {}: {estimate:?}",
        estimate.speed_mps,
        oracle.speed_mps
    );
    let tolerance_s = ETA_TOLERANCE_S.max(ETA_TOLERANCE_RATIO * oracle.eta_s);
    assert!(
        (estimate.eta_s as f64 - oracle.eta_s).abs() <= tolerance_s,
        "eta_s {} vs oracle {:.2} ± {tolerance_s:.2}: {estimate:?}",
        estimate.eta_s,
        oracle.eta_s
    );
}

/// The estimates of `order_id` in `phase`, in publishing order, an exact repeat of the one before (a redelivered
/// batch whose kv write failed after its send) dropped.
fn estimates_of<'a>(estimates: &'a [Estimate], order_id: &str, phase: &str) -> Vec<&'a Estimate> {
    let mut of: Vec<&Estimate> = Vec::new();
    for estimate in estimates
        .iter()
        .filter(|estimate| estimate.order_id == order_id && estimate.phase == phase)
    {
        if of.last() != Some(&estimate) {
            of.push(estimate);
        }
    }
    of
}

fn eta_hash(prefix: &str, order_id: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("{prefix}eta:{order_id}"))
        .query(&mut redis())
        .expect("hgetall")
}

fn eta_key_exists(prefix: &str, order_id: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(format!("{prefix}eta:{order_id}"))
        .query::<i64>(&mut redis())
        .expect("exists")
        == 1
}

/// The topics and names of one test's run.
struct Run {
    topic: String,
    orders: String,
    eta_topic: String,
    group: String,
    prefix: String,
    order_positions: Vec<Position>,
    fix_positions: Vec<Position>,
}

impl Run {
    async fn create(name: &str) -> Self {
        let TestNames { topic, group, prefix } = TestNames::create(name, PARTITIONS).await;
        let orders = unique(&format!("{name}-order-events"));
        create_topic(&orders, PARTITIONS).await;
        let eta_topic = unique(&format!("{name}-eta-updates"));
        create_topic(&eta_topic, 1).await;
        Self {
            topic,
            orders,
            eta_topic,
            group,
            prefix,
            order_positions: Vec::new(),
            fix_positions: Vec::new(),
        }
    }

    /// A config running the eta plugin on the run's topics with `batch` and the extra plugin `settings`.
    fn config(&self, name: &str, batch: BatchConfig, settings: &[(&str, &str)]) -> std::path::PathBuf {
        let mut config = test_config(&redis_url());
        let mut pipeline = test_pipeline(name, &self.group, &self.topic, &["eta"]);
        pipeline.order_topics = vec![self.orders.clone()];
        pipeline.batch = batch;
        config.pipelines.push(pipeline);
        let mut plugin = test_plugin_writing(
            "eta",
            &[("key_prefix", &self.prefix), ("eta_topic", &self.eta_topic)],
            &self.prefix,
        );
        plugin.config.extend(properties(settings));
        plugin.grants.produce_topics = vec![self.eta_topic.clone()];
        config.plugins.insert("eta".into(), plugin);
        write_config_file(name, &config)
    }

    /// Produces the `kind` event of every trip and waits until the plugin applied them.
    async fn order_step(&mut self, trips: &[ScriptedTrip], kind: &str) {
        let events: Vec<(String, String)> = trips.iter().map(|trip| trip.order_event(kind)).collect();
        self.order_positions
            .extend(produce_messages(&self.orders, &events).await);
        wait_until_consumed(&self.group, &self.orders, PARTITIONS, &self.order_positions, TIMEOUT);
    }

    /// Produces every trip's fixes of `leg` in event-time order and waits until the plugin processed them.
    async fn fixes(&mut self, trips: &[ScriptedTrip], leg: Leg) {
        let mut fixes: Vec<(i64, (String, String))> = Vec::new();
        for trip in trips {
            let times = trip.fixes_of(leg).map(|fix| fix.at_ms);
            fixes.extend(times.zip(trip.messages_of(leg)));
        }
        fixes.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.0.cmp(&b.1.0)));
        let messages: Vec<(String, String)> = fixes.into_iter().map(|(_, message)| message).collect();
        self.fix_positions
            .extend(produce_messages(&self.topic, &messages).await);
        wait_until_consumed(&self.group, &self.topic, PARTITIONS, &self.fix_positions, TIMEOUT);
    }
}

/// The three drivers of the oracle test: 8, 12 and 15 m/s, 25 fixes per leg, the last 8, 10 and 12 steps to each
/// target unseen (so the last estimate of a leg is 16, 20 and 24 s out, not zero).
fn three_trips() -> Vec<ScriptedTrip> {
    vec![
        ScriptedTrip::new("eta-slow", "eta-order-slow", 8.0, at(12.95, 77.58), 45.0, 120.0, 25, 8),
        ScriptedTrip::new("eta-mid", "eta-order-mid", 12.0, at(12.99, 77.62), 200.0, 280.0, 25, 10),
        ScriptedTrip::new(
            "eta-fast",
            "eta-order-fast",
            15.0,
            at(12.93, 77.65),
            330.0,
            10.0,
            25,
            12,
        ),
    ]
}

/// Checks the script itself: the oracle at the last fix of each leg is what the script intends (remaining steps /
/// speed), so that a geometry mistake cannot make the oracle agree with a wrong plugin.
fn assert_script_intent(trips: &[ScriptedTrip], remaining_steps: &[i64]) {
    for (trip, remaining) in trips.iter().zip(remaining_steps) {
        let intended_s = (remaining * FIX_INTERVAL_MS) as f64 / 1000.0;
        for leg in [Leg::ToPickup, Leg::ToDropoff] {
            let oracle = trip.oracle(trip.last_fix_of(leg), 0.0);
            assert!(
                (oracle.eta_s - intended_s).abs() < 1e-6,
                "script error: {} {leg:?} ends {:.3} s out, intended {intended_s}",
                trip.driver,
                oracle.eta_s
            );
        }
        let steps: Vec<f64> = trip
            .fixes
            .windows(2)
            .filter(|pair| pair[1].leg != Leg::AfterDelivery)
            .map(|pair| {
                haversine_m(pair[0].position, pair[1].position) / ((pair[1].at_ms - pair[0].at_ms) as f64 / 1000.0)
            })
            .collect();
        assert!(
            steps.iter().all(|speed| (speed - trip.speed_mps).abs() < 1e-6),
            "script error: {} does not move at {} m/s: {steps:?}",
            trip.driver,
            trip.speed_mps
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn estimates_match_distance_over_true_speed_and_delivery_removes_them() {
    const DEFAULT_SPEED_MPS: f64 = 5.0;
    let trips = three_trips();
    assert_script_intent(&trips, &[8, 10, 12]);
    let mut run = Run::create("eta").await;
    // Thresholds 0: every batch that moves a driver publishes, so the last estimate of a leg is made from its last fix.
    // Small batches (of one or two fixes per driver) give many estimates along each leg to check.
    let default_speed = DEFAULT_SPEED_MPS.to_string();
    let config = run.config(
        "eta",
        BatchConfig {
            max_events: 4,
            max_wait_ms: 100,
        },
        &[
            ("min_change_s", "0"),
            ("min_change_ratio", "0"),
            ("route_factor", "1"),
            ("default_speed_mps", &default_speed),
        ],
    );
    let host = Host::start("eta", &config);

    let mut published = 0;
    for (kind, leg) in [("order_assigned", Leg::ToPickup), ("picked_up", Leg::ToDropoff)] {
        run.order_step(&trips, kind).await;
        run.fixes(&trips, leg).await;
        let phase = leg.phase().expect("active leg");
        let estimates = read_estimates_until(&run.eta_topic, &format!("the last {phase} estimates arrived"), |all| {
            trips.iter().all(|trip| {
                let last_fix = trip.last_fix_of(leg).at_ms;
                all.iter()
                    .any(|estimate| estimate.order_id == trip.order_id && estimate.ts_ms == last_fix)
            })
        });
        for estimate in &estimates {
            assert_matches_oracle(&trips, estimate, DEFAULT_SPEED_MPS);
        }
        for trip in &trips {
            let of_leg = estimates_of(&estimates, &trip.order_id, phase);
            assert!(
                of_leg.windows(2).all(|pair| pair[0].ts_ms < pair[1].ts_ms),
                "{} {phase}: estimates published out of event-time order: {of_leg:#?}",
                trip.order_id
            );
            let last = of_leg.last().expect("estimates of the leg");
            assert_eq!(
                last.ts_ms,
                trip.last_fix_of(leg).at_ms,
                "the last {phase} estimate of {} is made from the leg's last fix",
                trip.order_id
            );
            let stored = Estimate::from_hash(&eta_hash(&run.prefix, &trip.order_id));
            assert_eq!(&stored, *last, "the eta hash holds the last published estimate");
            let oracle = trip.oracle(trip.last_fix_of(leg), DEFAULT_SPEED_MPS);
            eprintln!(
                "{} {phase}: last eta_s {} (oracle {:.2}), distance_m {} (oracle {:.2}), {} estimates",
                trip.order_id,
                last.eta_s,
                oracle.eta_s,
                last.distance_m,
                oracle.distance_m,
                of_leg.len()
            );
        }
        published = estimates.len();
    }

    run.order_step(&trips, "delivered").await;
    for trip in &trips {
        assert!(
            !eta_key_exists(&run.prefix, &trip.order_id),
            "the delivery of {} deleted its eta hash",
            trip.order_id
        );
    }
    // Fixes after the delivery estimate nothing and do not bring the hash back.
    run.fixes(&trips, Leg::AfterDelivery).await;
    let after = read_all(&run.eta_topic, published, SETTLE);
    assert_eq!(
        after.len(),
        published,
        "nothing is published after the delivery: {:#?}",
        &after[published.min(after.len())..]
    );
    for trip in &trips {
        assert!(
            !eta_key_exists(&run.prefix, &trip.order_id),
            "fixes after the delivery of {} wrote its eta hash again",
            trip.order_id
        );
    }
    assert!(
        read_all(&format!("{}.dlq", run.topic), 0, Duration::from_secs(1)).is_empty(),
        "no scripted fix is dead-lettered"
    );
    drop(host);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_steady_driver_gets_an_estimate_only_on_meaningful_changes() {
    // Default change thresholds (not set in the config): 15 s and 10 % of the last published ETA.
    const MIN_CHANGE_S: f64 = 15.0;
    const MIN_CHANGE_RATIO: f64 = 0.1;
    const SPEED_MPS: f64 = 10.0;
    const FIXES_PER_LEG: i64 = 40;
    // Each leg starts 2,980 m (298 s) out and ends 2,200 m (220 s) out: the ETA falls 2 s per fix, 78 s per leg.
    let trip = ScriptedTrip::new(
        "eta-steady",
        "eta-order-steady",
        SPEED_MPS,
        at(12.97, 77.59),
        90.0,
        0.0,
        FIXES_PER_LEG,
        110,
    );
    let trips = [trip];
    let trip = &trips[0];
    let mut run = Run::create("eta-steady").await;
    // One fix per batch: a plugin that published on every batch would publish on every fix. The default speed is the
    // driver's, so that even the first estimate matches the oracle.
    let speed = SPEED_MPS.to_string();
    let config = run.config(
        "eta-steady",
        BatchConfig {
            max_events: 1,
            max_wait_ms: 50,
        },
        &[("default_speed_mps", &speed)],
    );
    let host = Host::start("eta-steady", &config);

    run.order_step(&trips, "order_assigned").await;
    run.fixes(&trips, Leg::ToPickup).await;
    run.order_step(&trips, "picked_up").await;
    run.fixes(&trips, Leg::ToDropoff).await;

    let estimates = read_estimates_until(&run.eta_topic, "a to_dropoff estimate arrived", |all| {
        all.iter().any(|estimate| estimate.phase == "to_dropoff")
    });
    for estimate in &estimates {
        assert_matches_oracle(&trips, estimate, SPEED_MPS);
    }
    let fixes = 2 * FIXES_PER_LEG as usize;
    assert!(
        estimates.len() < fixes / 2,
        "{} estimates published for {fixes} fixes of a steady driver: {estimates:#?}",
        estimates.len()
    );
    let per_fix_s = FIX_INTERVAL_MS as f64 / 1000.0;
    for leg in [Leg::ToPickup, Leg::ToDropoff] {
        let phase = leg.phase().expect("active leg");
        let of_leg = estimates_of(&estimates, &trip.order_id, phase);
        let first_fix = trip.fixes_of(leg).next().expect("fixes");
        assert_eq!(
            of_leg.first().map(|estimate| estimate.ts_ms),
            Some(first_fix.at_ms),
            "the first fix of {phase} publishes (a new phase always does): {of_leg:#?}"
        );
        // The leg's ETA falls by 78 s, more than any threshold on the way: at least one more estimate is due.
        assert!(of_leg.len() >= 2, "{phase}: only {of_leg:#?}");
        for pair in of_leg.windows(2) {
            let (last, next) = (pair[0].eta_s as f64, pair[1].eta_s as f64);
            let threshold = MIN_CHANGE_S.max(MIN_CHANGE_RATIO * last);
            let change = (last - next).abs();
            assert!(
                change >= threshold,
                "{phase}: {next} published after {last}, a change below {threshold}"
            );
            // Every fix is judged: the estimate is published at the first fix whose change reaches the threshold.
            assert!(
                change <= threshold + 2.0 * per_fix_s,
                "{phase}: {next} published after {last}, later than the first fix that changed it by {threshold}"
            );
        }
        let last = of_leg.last().expect("estimates");
        let unpublished = last.eta_s as f64 - trip.oracle(trip.last_fix_of(leg), SPEED_MPS).eta_s;
        assert!(
            unpublished < MIN_CHANGE_S.max(MIN_CHANGE_RATIO * last.eta_s as f64) + per_fix_s,
            "{phase}: the ETA moved {unpublished:.1} s after the last estimate {last:?} without a new one"
        );
        eprintln!(
            "{phase}: ETAs published {:?} for {FIXES_PER_LEG} fixes",
            of_leg.iter().map(|estimate| estimate.eta_s).collect::<Vec<_>>()
        );
    }
    let last = estimates.last().expect("estimates");
    assert_eq!(
        &Estimate::from_hash(&eta_hash(&run.prefix, &trip.order_id)),
        last,
        "the eta hash holds the last published estimate"
    );
    drop(host);
}
