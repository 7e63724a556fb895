//! Unit tests of `trip_model.rs`.

use std::collections::HashMap;

use super::*;

const CITY: CityArea = super::super::CITY;
const START_MS: i64 = 1_764_000_000_000;

/// Everything one driver produced.
struct DriverLog {
    steps: Vec<Step>,
}

impl DriverLog {
    fn fixes(&self) -> impl Iterator<Item = &Fix> {
        self.steps.iter().map(|step| &step.fix)
    }

    fn events(&self) -> impl Iterator<Item = &OrderEvent> {
        self.steps.iter().filter_map(|step| step.order_event.as_ref())
    }

    fn fix_at(&self, timestamp_ms: i64) -> &Fix {
        self.fixes()
            .find(|fix| fix.timestamp_ms == timestamp_ms)
            .expect("every order event has the timestamp of a fix")
    }

    /// Each order's events, in the order they happened.
    fn orders(&self) -> HashMap<&str, Vec<&OrderEvent>> {
        let mut orders: HashMap<&str, Vec<&OrderEvent>> = HashMap::new();
        for event in self.events() {
            orders.entry(&event.order_id).or_default().push(event);
        }
        orders
    }
}

fn assigned_points(events: &[&OrderEvent]) -> (Point, Point) {
    match events.first().map(|event| event.kind) {
        Some(OrderEventKind::Assigned { pickup, dropoff }) => (pickup, dropoff),
        other => panic!("an order starts with its assignment, got {other:?}"),
    }
}

/// Runs `drivers` drivers for `duration_ms`, one fix every `interval_ms`.
fn simulate(seed: u64, drivers: usize, interval_ms: i64, duration_ms: i64, rules: &TripRules) -> Vec<DriverLog> {
    (0..drivers)
        .map(|index| {
            let mut driver = DriverModel::new(index, seed, START_MS, CITY, rules.clone());
            let steps = (1..=duration_ms / interval_ms)
                .map(|fix| driver.fix_at(START_MS + fix * interval_ms))
                .collect();
            DriverLog { steps }
        })
        .collect()
}

/// Four hours of a small fleet at one fix per second, and at one per 7 s.
fn fleets(rules: &TripRules) -> Vec<DriverLog> {
    let mut logs = simulate(11, 6, 1_000, 4 * 3_600_000, rules);
    logs.extend(simulate(12, 6, 7_000, 4 * 3_600_000, rules));
    logs
}

#[test]
fn a_driver_is_at_the_pickup_for_the_dwell_before_picked_up() {
    let rules = TripRules::default();
    let mut pickups = 0;
    for log in fleets(&rules) {
        for events in log.orders().values() {
            let (pickup, _) = assigned_points(events);
            let Some(picked_up) = events.iter().find(|event| event.kind == OrderEventKind::PickedUp) else {
                continue;
            };
            pickups += 1;
            let at_pickup = log.fix_at(picked_up.timestamp_ms);
            assert!(at_pickup.position.distance_m(pickup) <= ARRIVAL_RADIUS_M);
            let arrival = log
                .fixes()
                .find(|fix| {
                    fix.timestamp_ms >= events[0].timestamp_ms && fix.position.distance_m(pickup) <= ARRIVAL_RADIUS_M
                })
                .expect("the driver reached the pickup");
            assert!(
                picked_up.timestamp_ms - arrival.timestamp_ms >= rules.pickup_dwell_ms.start,
                "picked up {} ms after arriving",
                picked_up.timestamp_ms - arrival.timestamp_ms
            );
            // Parked since the dwell began at the latest: no fix away from the pickup.
            let dwelling = picked_up.timestamp_ms - rules.pickup_dwell_ms.start..=picked_up.timestamp_ms;
            for fix in log.fixes().filter(|fix| dwelling.contains(&fix.timestamp_ms)) {
                assert!(
                    fix.position.distance_m(pickup) <= ARRIVAL_RADIUS_M,
                    "left while waiting"
                );
            }
        }
    }
    assert!(pickups > 100, "only {pickups} pickups");
}

#[test]
fn every_order_is_assigned_picked_up_then_delivered_at_its_drop_off_or_cancelled() {
    let rules = TripRules::default();
    let mut delivered = 0;
    for log in fleets(&rules) {
        for (order_id, events) in log.orders() {
            let (_, dropoff) = assigned_points(&events);
            let kinds: Vec<&str> = events.iter().map(|event| event.kind.type_name()).collect();
            let finished = events.last().map(|event| log.fix_at(event.timestamp_ms));
            match kinds.as_slice() {
                ["order_assigned"] | ["order_assigned", "picked_up"] | ["order_assigned", "cancelled"] => {}
                ["order_assigned", "picked_up", "delivered"] => {
                    let at_dropoff = finished.expect("a delivered order has events");
                    assert!(at_dropoff.position.distance_m(dropoff) <= ARRIVAL_RADIUS_M);
                    delivered += 1;
                }
                other => panic!("{order_id}: {other:?}"),
            }
            assert!(
                events
                    .windows(2)
                    .all(|pair| pair[0].timestamp_ms < pair[1].timestamp_ms)
            );
        }
        // One order at a time: an assignment only after the previous order ended.
        let mut open_order: Option<&str> = None;
        for event in log.events() {
            match event.kind {
                OrderEventKind::Assigned { .. } => {
                    assert_eq!(open_order, None, "{} assigned during another order", event.order_id);
                    open_order = Some(&event.order_id);
                }
                OrderEventKind::PickedUp => assert_eq!(open_order, Some(event.order_id.as_str())),
                OrderEventKind::Delivered | OrderEventKind::Cancelled => {
                    assert_eq!(open_order.take(), Some(event.order_id.as_str()));
                }
            }
        }
    }
    assert!(delivered > 100, "only {delivered} deliveries");
}

#[test]
fn fixes_carry_the_order_the_driver_is_on() {
    for log in simulate(3, 4, 1_000, 3_600_000, &TripRules::default()) {
        let mut current: Option<String> = None;
        for step in &log.steps {
            let mut ended = false;
            if let Some(event) = &step.order_event {
                match event.kind {
                    OrderEventKind::Assigned { .. } => current = Some(event.order_id.clone()),
                    OrderEventKind::Delivered | OrderEventKind::Cancelled => ended = true,
                    OrderEventKind::PickedUp => {}
                }
            }
            assert_eq!(step.fix.order_id, current);
            if ended {
                current = None;
            }
        }
    }
}

#[test]
fn timestamps_increase_and_events_share_their_fix_time() {
    for log in fleets(&TripRules::default()) {
        assert!(
            log.fixes()
                .zip(log.fixes().skip(1))
                .all(|(a, b)| a.timestamp_ms < b.timestamp_ms)
        );
        for step in &log.steps {
            if let Some(event) = &step.order_event {
                assert_eq!(event.timestamp_ms, step.fix.timestamp_ms);
            }
        }
    }
}

#[test]
fn distances_between_consecutive_fixes_match_the_reported_speed() {
    let rules = TripRules::default();
    let fastest = rules.speed_mps.end * (1.0 + rules.speed_variation);
    for log in fleets(&rules) {
        for (previous, fix) in log.fixes().zip(log.fixes().skip(1)) {
            let seconds = (fix.timestamp_ms - previous.timestamp_ms) as f64 / 1000.0;
            let observed_m = previous.position.distance_m(fix.position);
            let expected_m = fix.speed_mps * seconds;
            assert!(
                (observed_m - expected_m).abs() <= 2.0 * rules.jitter_m + 1e-6,
                "{observed_m} m in {seconds} s at {} m/s",
                fix.speed_mps
            );
            assert!((0.0..=fastest).contains(&fix.speed_mps), "{} m/s", fix.speed_mps);
        }
    }
}

#[test]
fn drivers_stay_in_the_city() {
    for log in fleets(&TripRules::default()) {
        assert!(log.fixes().all(|fix| CITY.contains(fix.position)));
    }
}

#[test]
fn order_points_are_at_the_planned_distances() {
    let rules = TripRules::default();
    for log in fleets(&rules) {
        for event in log.events() {
            let OrderEventKind::Assigned { pickup, dropoff } = event.kind else {
                continue;
            };
            let from = log.fix_at(event.timestamp_ms).position;
            let jitter = rules.jitter_m;
            let to_pickup = from.distance_m(pickup);
            let margin = rules.pickup_distance_m.start - jitter..rules.pickup_distance_m.end + jitter;
            assert!(margin.contains(&to_pickup), "pickup {to_pickup} m away");
            let to_dropoff = pickup.distance_m(dropoff);
            assert!(
                rules.dropoff_distance_m.contains(&to_dropoff),
                "drop-off {to_dropoff} m away"
            );
            assert!(CITY.shrunk_by(CITY_MARGIN_M - 1.0).contains(pickup));
            assert!(CITY.shrunk_by(CITY_MARGIN_M - 1.0).contains(dropoff));
        }
    }
}

#[test]
fn cancelled_orders_have_no_pickup_or_delivery() {
    let rules = TripRules {
        cancel_probability: 0.5,
        ..TripRules::default()
    };
    let mut cancelled = 0;
    for log in fleets(&rules) {
        for events in log.orders().values() {
            if events.iter().any(|event| event.kind == OrderEventKind::Cancelled) {
                cancelled += 1;
                assert_eq!(events.len(), 2, "{events:?}");
                assert_eq!(events[1].kind, OrderEventKind::Cancelled);
            }
        }
    }
    assert!(cancelled > 50, "only {cancelled} cancellations");
}

#[test]
fn about_three_percent_of_orders_are_cancelled_by_default() {
    let logs = simulate(5, 40, 5_000, 8 * 3_600_000, &TripRules::default());
    let orders: Vec<_> = logs.iter().flat_map(|log| log.orders().into_values()).collect();
    let cancelled = orders
        .iter()
        .filter(|events| events.iter().any(|event| event.kind == OrderEventKind::Cancelled))
        .count();
    let share = cancelled as f64 / orders.len() as f64;
    assert!(orders.len() > 800, "only {} orders", orders.len());
    assert!(
        (0.01..0.06).contains(&share),
        "{cancelled} of {} cancelled",
        orders.len()
    );
}

#[test]
fn the_same_seed_gives_the_same_fixes_and_events() {
    let rules = TripRules::default();
    let first = simulate(42, 3, 1_000, 3_600_000, &rules);
    let again = simulate(42, 3, 1_000, 3_600_000, &rules);
    let other_seed = simulate(43, 3, 1_000, 3_600_000, &rules);
    for ((first, again), other) in first.iter().zip(&again).zip(&other_seed) {
        assert_eq!(first.steps, again.steps);
        assert_ne!(first.steps, other.steps);
    }
    // A driver's stream does not depend on the fleet's size.
    let alone = simulate(42, 1, 1_000, 3_600_000, &rules);
    assert_eq!(alone[0].steps, first[0].steps);
}

#[test]
fn order_ids_are_unique_and_name_the_seed() {
    let logs = simulate(77, 5, 1_000, 4 * 3_600_000, &TripRules::default());
    let mut ids = std::collections::HashSet::new();
    for (index, log) in logs.iter().enumerate() {
        for event in log.events() {
            if matches!(event.kind, OrderEventKind::Assigned { .. }) {
                assert!(event.order_id.starts_with(&format!("order-77-{index:06}-")));
                assert!(ids.insert(event.order_id.clone()), "{} twice", event.order_id);
            }
        }
    }
    assert!(ids.len() > 20);
}
