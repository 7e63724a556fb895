//! Proves that fare's fix batches and order batches, run concurrently for the same drivers (as a fix partition's and an order partition's workers do) by two instances of fare.wasm on real Redis, never undo each other's writes: after every round each driver's stored trip is the last order step, and an order assigned to the driver again gets a fare of its own trip only, however a fix batch metering the order's previous trip raced the new assignment.

mod support;

use fleethost_core::runtime::{Batch, OrderEvent, OrderKind, Point};
use support::concurrent_batches::{self, hashes, record_values, run_concurrently};
use support::geometry::{LatLng, haversine_m};
use support::standalone_broker::instance_with_broker;
use support::*;

/// Drivers in every batch.
const DRIVERS: usize = 40;
/// Order steps of one cycle (see [`order_events`]).
const STEPS: usize = 9;
/// Cycles of order steps; every cycle ends with a delivery.
const CYCLES: usize = 40;
/// Rounds of one fix batch and one order batch run at the same time; round
/// `r` runs the fixes of `r` next to the order step `r + 1` (step 0 runs
/// alone first), so the last round runs the last cycle's delivery.
const ROUNDS: usize = STEPS * CYCLES - 1;
/// Event time of round 0's fixes; round `r` is `r` seconds later.
const BASE_MS: i64 = 1_764_000_000_000;
/// Metres per degree of latitude the fixes move by: one step is 10 m north.
const STEP_DEGREES: f64 = 0.00009;
/// The tariff: one unit per metre, nothing for time, no minimum, so that the
/// fare is the distance.
const PER_KM: f64 = 1000.0;
/// The published `distance_m` (rounded to 0.1 m) must be this close to the
/// test's haversine.
const DISTANCE_TOLERANCE_M: f64 = 0.5;
/// The stored fare (rounded to the cent) must be this close to the test's:
/// half a cent and a margin for float details.
const FARE_TOLERANCE: f64 = 0.006;

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

/// The order of cycle `cycle` that is driven twice (`a`) and the one it is
/// briefly reassigned to (`b`).
fn order_id(driver: usize, cycle: usize, name: &str) -> String {
    format!("order-{driver}-{cycle}-{name}")
}

/// Whether the fix of `round` stays where the previous one was: the fix
/// batch racing each delivery (round `r` races order step `r + 1`), so that
/// the final fare is the same whether the delivery's read saw that batch's
/// write or not.
fn stationary(round: usize) -> bool {
    round % STEPS == STEPS - 2
}

/// Driver `driver`'s fix of round `round`: 10 m north of the previous one,
/// one second later (10 m/s: always counted), except in [`stationary`] rounds.
fn fix(driver: usize, round: usize) -> LatLng {
    let moves = (0..=round)
        .filter(|&earlier| earlier > 0 && !stationary(earlier))
        .count();
    LatLng {
        lat: 12.9 + driver as f64 * 0.001 + moves as f64 * STEP_DEGREES,
        lng: 77.6,
    }
}

fn fix_ms(round: usize) -> i64 {
    BASE_MS + round as i64 * 1_000
}

fn fix_batch(round: usize) -> Batch {
    concurrent_batches::fix_batch(
        "fare-concurrency",
        round,
        (0..DRIVERS).map(|driver| {
            let position = fix(driver, round);
            (driver_id(driver), position.lat, position.lng, fix_ms(round))
        }),
    )
}

/// Event time of order step `step`: between the fix of its round and the next.
fn order_ms(step: usize) -> i64 {
    BASE_MS + step as i64 * 1_000 + 500
}

/// The order events of `driver` in order step `step`, by its place in the
/// cycle: 0 assign `a` and pick it up; 1, 2 the pickup again (a redelivery,
/// ignored: the fix batches meter `a`); 3 reassign to `b` and straight back
/// to `a`, a new trip of the same order (racing a fix batch that meters the
/// old one); 4 pick `a` up; 5 to 7 the pickup again (ignored); 8 deliver `a`.
fn order_events(driver: usize, step: usize) -> Vec<OrderEvent> {
    let cycle = step / STEPS;
    let at = order_ms(step);
    let event = |name: &str, kind: OrderKind| {
        let position = fix(driver, step);
        let assigned = matches!(kind, OrderKind::Assigned);
        OrderEvent {
            order_id: order_id(driver, cycle, name),
            driver_id: driver_id(driver),
            kind,
            pickup: assigned.then_some(Point {
                latitude: position.lat + 0.01,
                longitude: position.lng,
            }),
            dropoff: assigned.then_some(Point {
                latitude: position.lat + 0.02,
                longitude: position.lng,
            }),
            timestamp_ms: at,
            offset: step as i64,
        }
    };
    match step % STEPS {
        0 => vec![event("a", OrderKind::Assigned), event("a", OrderKind::PickedUp)],
        3 => vec![event("b", OrderKind::Assigned), event("a", OrderKind::Assigned)],
        8 => vec![event("a", OrderKind::Delivered)],
        _ => vec![event("a", OrderKind::PickedUp)],
    }
}

fn order_batch(step: usize) -> Batch {
    concurrent_batches::order_batch(
        "fare-concurrency",
        (0..DRIVERS).flat_map(|driver| order_events(driver, step)),
    )
}

/// The trip of `driver` after the order steps `0..=step`: the test's own
/// model of the SDK's trip rules.
fn expected_trip(driver: usize, step: usize) -> Trip {
    let cycle_start = step - step % STEPS;
    let at = |step: usize| order_ms(step).to_string();
    let (phase, assigned, picked_up, ended) = match step % STEPS {
        0..=2 => ("to_dropoff", at(cycle_start), at(cycle_start), String::new()),
        3 => ("to_pickup", at(cycle_start + 3), String::new(), String::new()),
        4..=7 => ("to_dropoff", at(cycle_start + 3), at(cycle_start + 4), String::new()),
        _ => ("delivered", at(cycle_start + 3), at(cycle_start + 4), at(step)),
    };
    Trip {
        order_id: order_id(driver, step / STEPS, "a"),
        phase: phase.to_string(),
        assigned_ms: assigned,
        picked_up_ms: picked_up,
        ended_ms: ended,
    }
}

/// The distance the final fare of `driver`'s second trip of cycle `cycle`
/// must count: its fixes inside the trip's window are those of rounds 5 to 7
/// of the cycle (round 4's fix is before the pickup; round 7's has not moved).
fn expected_distance_m(driver: usize, cycle: usize) -> f64 {
    let round = cycle * STEPS;
    haversine_m(fix(driver, round + 5), fix(driver, round + 6))
}

/// Every driver's stored trip, from `{prefix}fare:trip:{driver_id}`.
fn stored_trips(redis: &mut redis::Connection, prefix: &str) -> Vec<Option<Trip>> {
    let keys: Vec<String> = (0..DRIVERS)
        .map(|driver| format!("{prefix}fare:trip:{}", driver_id(driver)))
        .collect();
    hashes(redis, &keys)
        .iter()
        .map(|hash| {
            let trip = record_values(hash, "trip");
            let text = |name: &str| trip.get(name).cloned();
            Some(Trip {
                order_id: text("trip_order_id")?,
                phase: text("trip_phase")?,
                assigned_ms: text("trip_assigned_ms")?,
                picked_up_ms: text("trip_picked_up_ms")?,
                ended_ms: text("trip_ended_ms")?,
            })
        })
        .collect()
}

/// The final fare of every driver's order `a` of `cycle` as stored in
/// `{prefix}fare:{order_id}` that is not what the trip drove, described.
fn wrong_finals(redis: &mut redis::Connection, prefix: &str, cycle: usize) -> Vec<String> {
    let keys: Vec<String> = (0..DRIVERS)
        .map(|driver| format!("{prefix}fare:{}", order_id(driver, cycle, "a")))
        .collect();
    hashes(redis, &keys)
        .iter()
        .enumerate()
        .filter_map(|(driver, fare)| {
            let expected = expected_distance_m(driver, cycle);
            let number = |name: &str| fare.get(name).and_then(|value| value.parse::<f64>().ok());
            let right = fare.get("status").map(String::as_str) == Some("final")
                && number("distance_m").is_some_and(|distance| (distance - expected).abs() < DISTANCE_TOLERANCE_M)
                && number("fare").is_some_and(|fare| (fare - expected * PER_KM / 1000.0).abs() < FARE_TOLERANCE)
                && number("duration_s") == Some(4.0);
            (!right).then(|| format!("{}: {fare:?}, expected {expected:.1} m", driver_id(driver)))
        })
        .collect()
}

#[test]
fn concurrent_fix_and_order_batches_lose_no_update() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let _inside_runtime = tokio.enter();
    let prefix = format!("{}:", unique("fare-concurrency"));
    let fare_topic = unique("fare-concurrency-fare-updates");
    tokio.block_on(create_topic(&fare_topic, 1));
    let plugin_toml = format!(
        "config = {{ key_prefix = \"{prefix}\", fare_topic = \"{fare_topic}\", base_fare = \"0\", \
         per_km = \"{PER_KM}\", per_minute = \"0\", minimum_fare = \"0\" }}\n\
         grants = {{ kv_write = [\"{prefix}fare:\"], produce_topics = [\"{fare_topic}\"] }}\n"
    );
    let path = plugin_path("fare").display().to_string();
    let mut fix_instance = instance_with_broker("fare-concurrency", &path, &redis_url(), &plugin_toml);
    let mut order_instance = instance_with_broker("fare-concurrency", &path, &redis_url(), &plugin_toml);
    let mut redis = redis::Client::open(redis_url().as_str())
        .and_then(|client| client.get_connection())
        .expect("Redis at FLEETHOST_TEST_REDIS");

    // Step 0 first, alone: fix batches meter only drivers on a trip.
    order_instance.process(&order_batch(0)).expect("the first trips");
    let mut lost_trip: Vec<String> = Vec::new();
    let mut wrong_fare: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let step = round + 1;
        run_concurrently(
            &mut fix_instance,
            &fix_batch(round),
            &mut order_instance,
            &order_batch(step),
        );
        let trips = stored_trips(&mut redis, &prefix);
        let trip_misses: Vec<String> = (0..DRIVERS)
            .filter(|&driver| trips[driver].as_ref() != Some(&expected_trip(driver, step)))
            .map(|driver| {
                format!(
                    "{}: {:?}, expected {:?}",
                    driver_id(driver),
                    trips[driver],
                    expected_trip(driver, step)
                )
            })
            .collect();
        if let Some(first) = trip_misses.first() {
            lost_trip.push(format!("round {round}: {} drivers, e.g. {first}", trip_misses.len()));
        }
        if step % STEPS == STEPS - 1 {
            let cycle = step / STEPS;
            let misses = wrong_finals(&mut redis, &prefix, cycle);
            if let Some(first) = misses.first() {
                wrong_fare.push(format!("cycle {cycle}: {} drivers, e.g. {first}", misses.len()));
            }
        }
    }
    assert!(
        lost_trip.is_empty() && wrong_fare.is_empty(),
        "an order batch's trip was lost in {} of {ROUNDS} rounds; the final fare of an order assigned again \
         counted its earlier trip in {} of {CYCLES} cycles:\n{}\n{}",
        lost_trip.len(),
        wrong_fare.len(),
        lost_trip.join("\n"),
        wrong_fare.join("\n")
    );
}
