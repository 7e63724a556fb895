//! Proves that eta's fix batches and order batches, run concurrently for the same drivers (as a fix partition's and an order partition's workers do) by two instances of eta.wasm on real Redis, never lose each other's writes: after every round each driver's stored motion is the newest fix fed and its trip the last order step, and a new trip still gets its first estimate.

mod support;

use fleethost_core::runtime::{Batch, OrderEvent, OrderKind, Point};
use support::concurrent_batches::{self, hashes, record_values, run_concurrently};
use support::standalone_broker::instance_with_broker;
use support::*;

/// Drivers in every batch.
const DRIVERS: usize = 40;
/// Rounds of one fix batch and one order batch run at the same time; round
/// `r` runs the fixes of `r` next to the order step `r + 1`. The last step
/// (`ROUNDS`) is a reassignment (step 4 of [`STEPS`]), so that the final
/// quiet fix batch meets new trips.
const ROUNDS: usize = 6 * 50 - 2;
/// The order steps every driver goes through, round after round: assign A,
/// pick it up, deliver it, assign B, reassign to C while B is active, cancel C.
const STEPS: usize = 6;
/// Event time of round 0's fixes; round `r` is `r` seconds later.
const BASE_MS: i64 = 1_764_000_000_000;

/// The stored state of one driver that the test checks: the motion's newest
/// position and the trip.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    position: Option<(f64, f64, i64)>,
    trip: Option<Trip>,
}

/// A trip as the SDK stores it (`trip_*` values of the `trip` record), the
/// step times as written (empty when unset).
#[derive(Debug, Clone, PartialEq)]
struct Trip {
    order_id: String,
    phase: String,
    assigned_ms: String,
    picked_up_ms: String,
    ended_ms: String,
}

fn driver_id(driver: usize) -> String {
    format!("driver-{driver}")
}

/// Driver `driver`'s fix of round `round`: 10 m north of the previous one
/// (10 m/s, one fix a second: a sample every time, never a jump).
fn fix(driver: usize, round: usize) -> (f64, f64, i64) {
    let latitude = 12.9 + driver as f64 * 0.001 + round as f64 * 0.00009;
    (latitude, 77.6, BASE_MS + round as i64 * 1_000)
}

fn fix_batch(round: usize) -> Batch {
    concurrent_batches::fix_batch(
        "eta-concurrency",
        round,
        (0..DRIVERS).map(|driver| {
            let (latitude, longitude, timestamp_ms) = fix(driver, round);
            (driver_id(driver), latitude, longitude, timestamp_ms)
        }),
    )
}

/// Event time of round `round`'s order events: between its fix and the next.
fn order_ms(round: usize) -> i64 {
    BASE_MS + round as i64 * 1_000 + 500
}

/// The order event of `driver` in `round` (see [`STEPS`]).
fn order_event(driver: usize, round: usize) -> OrderEvent {
    let cycle = round / STEPS;
    let order = |name: &str| format!("order-{driver}-{cycle}-{name}");
    let (order_id, kind) = match round % STEPS {
        0 => (order("a"), OrderKind::Assigned),
        1 => (order("a"), OrderKind::PickedUp),
        2 => (order("a"), OrderKind::Delivered),
        3 => (order("b"), OrderKind::Assigned),
        4 => (order("c"), OrderKind::Assigned),
        _ => (order("c"), OrderKind::Cancelled),
    };
    let (latitude, longitude, _) = fix(driver, round);
    let assigned = matches!(kind, OrderKind::Assigned);
    OrderEvent {
        order_id,
        driver_id: driver_id(driver),
        kind,
        pickup: assigned.then_some(Point {
            latitude: latitude + 0.03,
            longitude,
        }),
        dropoff: assigned.then_some(Point {
            latitude: latitude + 0.06,
            longitude,
        }),
        timestamp_ms: order_ms(round),
        offset: round as i64,
    }
}

fn order_batch(round: usize) -> Batch {
    concurrent_batches::order_batch("eta-concurrency", (0..DRIVERS).map(|driver| order_event(driver, round)))
}

/// The trip of `driver` after the order steps of rounds `0..=round`: the
/// test's own model of the SDK's trip rules.
fn expected_trip(driver: usize, round: usize) -> Trip {
    let event = order_event(driver, round);
    let at = |round: usize| order_ms(round).to_string();
    let cycle_start = round - round % STEPS;
    let (phase, assigned, picked_up, ended) = match round % STEPS {
        0 => ("to_pickup", at(round), String::new(), String::new()),
        1 => ("to_dropoff", at(cycle_start), at(round), String::new()),
        2 => ("delivered", at(cycle_start), at(cycle_start + 1), at(round)),
        3 | 4 => ("to_pickup", at(round), String::new(), String::new()),
        _ => ("cancelled", at(round - 1), String::new(), at(round)),
    };
    Trip {
        order_id: event.order_id,
        phase: phase.to_string(),
        assigned_ms: assigned,
        picked_up_ms: picked_up,
        ended_ms: ended,
    }
}

/// Every driver's stored state, from `{prefix}eta:trip:{driver_id}`.
fn stored(redis: &mut redis::Connection, prefix: &str) -> Vec<Stored> {
    let keys: Vec<String> = (0..DRIVERS)
        .map(|driver| format!("{prefix}eta:trip:{}", driver_id(driver)))
        .collect();
    hashes(redis, &keys)
        .iter()
        .map(|hash| {
            let eta = record_values(hash, "eta");
            let trip = record_values(hash, "trip");
            let number = |name: &str| eta.get(name).and_then(|value| value.parse::<f64>().ok());
            let position = match (number("eta_lat"), number("eta_lng"), eta.get("eta_ts_ms")) {
                (Some(lat), Some(lng), Some(ts)) => ts.parse().ok().map(|ts| (lat, lng, ts)),
                _ => None,
            };
            let text = |name: &str| trip.get(name).cloned();
            let trip = (|| {
                Some(Trip {
                    order_id: text("trip_order_id")?,
                    phase: text("trip_phase")?,
                    assigned_ms: text("trip_assigned_ms")?,
                    picked_up_ms: text("trip_picked_up_ms")?,
                    ended_ms: text("trip_ended_ms")?,
                })
            })();
            Stored { position, trip }
        })
        .collect()
}

#[test]
fn concurrent_fix_and_order_batches_lose_no_update() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let prefix = format!("{}:", unique("eta-concurrency"));
    let eta_topic = unique("eta-concurrency-eta-updates");
    tokio.block_on(create_topic(&eta_topic, 1));
    let plugin_toml = format!(
        "config = {{ key_prefix = \"{prefix}\", eta_topic = \"{eta_topic}\" }}\n\
         grants = {{ kv_write = [\"{prefix}eta:\"], publish_channels = [\"{prefix}live:eta:\"], produce_topics = [\"{eta_topic}\"] }}\n"
    );
    let path = plugin_path("eta").display().to_string();
    let mut fix_instance = instance_with_broker("eta-concurrency", &path, &redis_url(), &plugin_toml);
    let mut order_instance = instance_with_broker("eta-concurrency", &path, &redis_url(), &plugin_toml);
    let mut redis = redis::Client::open(redis_url().as_str())
        .and_then(|client| client.get_connection())
        .expect("Redis at FLEETHOST_TEST_REDIS");

    // Round 0's assignment first, alone: fix batches track only drivers with a trip.
    order_instance.process(&order_batch(0)).expect("the first assignments");
    let mut lost_motion: Vec<String> = Vec::new();
    let mut lost_trip: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        // Round 0's order step is already stored; its fixes run next to the next step.
        run_concurrently(
            &mut fix_instance,
            &fix_batch(round),
            &mut order_instance,
            &order_batch(round + 1),
        );
        let states = stored(&mut redis, &prefix);
        let motion_misses: Vec<String> = (0..DRIVERS)
            .filter(|&driver| states[driver].position != Some(fix(driver, round)))
            .map(|driver| {
                format!(
                    "{}: {:?}, fed {:?}",
                    driver_id(driver),
                    states[driver].position,
                    fix(driver, round)
                )
            })
            .collect();
        if let Some(first) = motion_misses.first() {
            lost_motion.push(format!(
                "round {round} (order step {}): {} drivers, e.g. {first}",
                (round + 1) % STEPS,
                motion_misses.len(),
            ));
        }
        let trip_misses: Vec<String> = (0..DRIVERS)
            .filter(|&driver| states[driver].trip.as_ref() != Some(&expected_trip(driver, round + 1)))
            .map(|driver| {
                format!(
                    "{}: {:?}, expected {:?}",
                    driver_id(driver),
                    states[driver].trip,
                    expected_trip(driver, round + 1)
                )
            })
            .collect();
        if let Some(first) = trip_misses.first() {
            lost_trip.push(format!("round {round}: {} drivers, e.g. {first}", trip_misses.len()));
        }
    }
    assert!(
        lost_motion.is_empty() && lost_trip.is_empty(),
        "a fix batch's motion was lost in {} of {ROUNDS} rounds, an order batch's trip in {}:\n{}\n{}",
        lost_motion.len(),
        lost_trip.len(),
        lost_motion.join("\n"),
        lost_trip.join("\n")
    );

    // The last order step gave every driver a new trip; the estimate left
    // from the old one must not keep the new trip from its first estimate.
    let last = ROUNDS;
    fix_instance.process(&fix_batch(last)).expect("the quiet fix batch");
    let keys: Vec<String> = (0..DRIVERS)
        .map(|driver| format!("{prefix}eta:{}", expected_trip(driver, last).order_id))
        .collect();
    let estimates = hashes(&mut redis, &keys);
    for (driver, estimate) in estimates.iter().enumerate() {
        let trip = expected_trip(driver, last);
        assert_eq!(trip.phase, "to_pickup", "the last step is an assignment");
        assert_eq!(
            (
                estimate.get("driver_id").map(String::as_str),
                estimate.get("phase").map(String::as_str)
            ),
            (Some(driver_id(driver).as_str()), Some("to_pickup")),
            "{}'s new trip {} has its estimate: {estimate:?}",
            driver_id(driver),
            trip.order_id
        );
    }
}
