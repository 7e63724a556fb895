//! A batch of location fixes: meter the distance of every trip under way and
//! refresh its running fare.
//!
//! Only drivers whose trip in kv is `to_dropoff` are metered. Of their fixes
//! newer than the last one processed (a redelivered batch adds nothing), in
//! event-time order, those inside the trip's window ([`in_window`]) go through
//! the odometer. Fixes processed while the trip is still `to_pickup` in kv (the
//! pickup event not processed yet) or already delivered are not counted: the
//! final fare is computed when the delivery event is processed.
//!
//! A fix batch owns the `fare` record of the driver's hash and writes nothing
//! else there (never the trip, which order batches write meanwhile on another
//! worker, never a delete); the metering it writes names the trip it read
//! (order id and assignment time), so if an order batch replaced that trip in
//! the meantime, the new trip does not use it.

use std::collections::BTreeMap;

use fleethost_plugin_sdk::kv::WriteOp;
use fleethost_plugin_sdk::trip::{Phase, Trip};
use fleethost_plugin_sdk::{Event, Plan};

use crate::odometer::{Fix, Step};
use crate::plan::{FareRecord, Status, state_key, store};
use crate::settings::Settings;
use crate::state::DriverState;

/// Whether a fix at `ts_ms` belongs to the trip: at or after the pickup and,
/// once the trip ended, at or before its end.
pub fn in_window(trip: &Trip, ts_ms: i64) -> bool {
    trip.picked_up_ms.is_some_and(|picked_up| ts_ms >= picked_up) && trip.ended_ms.is_none_or(|ended| ts_ms <= ended)
}

/// What a driver's fixes of one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverUpdate {
    /// Whether any fix was new (the metering must be written back).
    pub changed: bool,
    /// The running fare, when a fix inside the trip's window was processed.
    pub running: Option<FareRecord>,
}

/// Meters one driver's fixes (in event-time order) into their state.
pub fn advance(state: &mut DriverState, fixes: &[&Event], settings: &Settings) -> DriverUpdate {
    let Some(trip) = state.trip.as_ref().filter(|trip| trip.phase == Phase::ToDropoff) else {
        return DriverUpdate::default();
    };
    let Some(mut metering) = state.current_metering() else {
        return DriverUpdate::default();
    };
    let mut update = DriverUpdate::default();
    let mut metered = false;
    for event in fixes {
        if metering.last_ts_ms.is_some_and(|last| event.timestamp_ms <= last) {
            continue;
        }
        metering.last_ts_ms = Some(event.timestamp_ms);
        update.changed = true;
        if !in_window(trip, event.timestamp_ms) {
            continue;
        }
        metered = true;
        metering.now_ms = Some(event.timestamp_ms);
        let fix = Fix {
            latitude: event.latitude,
            longitude: event.longitude,
            ts_ms: event.timestamp_ms,
        };
        if let Step::First = metering.odometer.count(fix, &settings.odometer) {
            metering.region = event.region.clone();
        }
    }
    if let Some(now_ms) = metering.now_ms.filter(|_| metered) {
        update.running = Some(FareRecord::new(
            settings,
            trip,
            Some(&metering),
            Status::Running,
            now_ms,
        ));
    }
    state.metering = Some(metering);
    update
}

/// The writes of a fix batch, given each driver's fixes and their state as
/// read from kv (in the same order; see `sdk::group::fixes_by_driver`): per
/// driver at most the `fare` record and the running fare. Running fares are
/// stored, not published.
pub fn plan_fixes(settings: &Settings, drivers: &BTreeMap<&str, Vec<&Event>>, states: Vec<DriverState>) -> Plan {
    let mut plan = Plan::default();
    for ((driver_id, fixes), mut state) in drivers.iter().zip(states) {
        let update = advance(&mut state, fixes, settings);
        if update.changed {
            plan.writes.push(WriteOp::hash_set(
                &state_key(settings, driver_id),
                state.metering_fields(),
            ));
        }
        if let Some(record) = &update.running {
            store(&mut plan, settings, record);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::geo::destination;
    use fleethost_plugin_sdk::group::fixes_by_driver;
    use fleethost_plugin_sdk::{PluginConfig, Point};

    fn settings() -> Settings {
        let config = vec![("surge".to_string(), "south=1.5,north=1.2".to_string())];
        Settings::from_config(&PluginConfig::new(config)).expect("valid")
    }

    /// A fix `metres` east of (12.9, 77.6) at `seconds`, in `region`.
    fn event(metres: f64, seconds: i64, region: Option<&str>) -> Event {
        let start = Point {
            latitude: 12.9,
            longitude: 77.6,
        };
        let point = destination(start, 90.0, metres);
        Event {
            driver_id: "d1".into(),
            latitude: point.latitude,
            longitude: point.longitude,
            timestamp_ms: 1_000_000 + seconds * 1000,
            region: region.map(str::to_string),
            order_id: None,
            speed: None,
            heading: None,
            offset: 0,
        }
    }

    /// A trip picked up at second 0.
    fn picked_up() -> DriverState {
        let point = Point {
            latitude: 12.9,
            longitude: 77.6,
        };
        DriverState {
            trip: Some(Trip {
                order_id: "o1".into(),
                driver_id: "d1".into(),
                phase: Phase::ToDropoff,
                pickup: point,
                dropoff: point,
                assigned_ms: 0,
                picked_up_ms: Some(1_000_000),
                ended_ms: None,
            }),
            metering: None,
        }
    }

    fn meter(state: &mut DriverState, events: &[Event]) -> DriverUpdate {
        let drivers = fixes_by_driver(events);
        let fixes = drivers.get("d1").map(Vec::as_slice).unwrap_or_default();
        advance(state, fixes, &settings())
    }

    #[test]
    fn a_known_route_costs_the_hand_computed_fare() {
        let mut state = picked_up();
        // 1.2 km east in 12 steps of 100 m, 10 s apart, starting in the south.
        let events: Vec<Event> = (0..=12)
            .map(|step| {
                event(
                    100.0 * step as f64,
                    10 * step,
                    Some(if step == 0 { "South" } else { "north" }),
                )
            })
            .collect();
        let running = meter(&mut state, &events).running.expect("metered");
        // (30 + 12 * 1.2 + 1.5 * 2) * 1.5 = 47.4 * 1.5 = 71.1
        assert!((running.quote.distance_m - 1_200.0).abs() < 1e-6, "{running:?}");
        assert_eq!((running.quote.duration_s, running.quote.surge), (120.0, 1.5));
        assert_eq!(running.quote.fare, 71.1);
        assert_eq!((running.status, running.ts_ms), (Status::Running, 1_120_000));
    }

    #[test]
    fn jitter_and_impossible_jumps_are_not_counted() {
        let mut state = picked_up();
        let events = vec![
            event(0.0, 0, None),
            event(3.0, 1, None),  // jitter
            event(-2.0, 2, None), // jitter
            event(100.0, 10, None),
            event(9_000.0, 11, None), // 8.9 km in 1 s
            event(104.0, 12, None),   // jitter around the anchor at 100 m
            event(300.0, 20, None),
        ];
        let running = meter(&mut state, &events).running.expect("metered");
        assert!((running.quote.distance_m - 300.0).abs() < 1e-6, "{running:?}");
        assert_eq!(running.quote.surge, 1.0);
    }

    #[test]
    fn fixes_before_the_pickup_or_after_delivery_are_not_counted() {
        let mut state = picked_up();
        let events = vec![
            event(-500.0, -60, Some("south")),
            event(-100.0, -1, Some("south")),
            event(0.0, 0, Some("north")),
            event(250.0, 30, Some("north")),
        ];
        let running = meter(&mut state, &events).running.expect("metered");
        assert!((running.quote.distance_m - 250.0).abs() < 1e-6);
        assert_eq!((running.quote.duration_s, running.quote.surge), (30.0, 1.2));

        let mut ended = picked_up();
        if let Some(trip) = ended.trip.as_mut() {
            trip.ended_ms = Some(1_030_000);
        }
        let trip = ended.trip.as_ref().expect("trip");
        assert!(in_window(trip, 1_000_000) && in_window(trip, 1_030_000));
        assert!(!in_window(trip, 999_999) && !in_window(trip, 1_030_001));

        let mut to_pickup = picked_up();
        if let Some(trip) = to_pickup.trip.as_mut() {
            trip.phase = Phase::ToPickup;
            trip.picked_up_ms = None;
        }
        assert_eq!(meter(&mut to_pickup, &events), DriverUpdate::default());
    }

    #[test]
    fn batches_add_up_and_a_redelivered_batch_adds_nothing() {
        let settings = settings();
        let first = vec![event(0.0, 0, None), event(100.0, 10, None)];
        let second = vec![event(200.0, 20, None), event(300.0, 30, None)];
        let mut state = picked_up();
        let trip_fields = state.trip.as_ref().map(Trip::to_fields).unwrap_or_default();
        for batch in [&first, &second, &second] {
            let drivers = fixes_by_driver(batch);
            let plan = plan_fixes(&settings, &drivers, vec![state.clone()]);
            if let Some(WriteOp::HashSet(written)) = plan.writes.first() {
                let mut fields = trip_fields.clone();
                fields.extend(written.fields.clone());
                state = DriverState::from_fields(&fields);
            } else {
                assert!(plan.writes.is_empty(), "a redelivered batch writes nothing");
            }
        }
        let metering = state.metering.expect("metered");
        assert!((metering.odometer.distance_m - 300.0).abs() < 1e-6, "{metering:?}");
    }

    #[test]
    fn a_fix_batch_writes_only_the_fare_record_and_never_deletes_the_hash() {
        let settings = settings();
        let events = vec![event(-100.0, -10, None), event(0.0, 0, None), event(100.0, 10, None)];
        let drivers = fixes_by_driver(&events);
        let mut delivered = picked_up();
        if let Some(trip) = delivered.trip.as_mut() {
            trip.phase = Phase::Delivered;
            trip.ended_ms = Some(1_005_000);
        }
        let mut to_pickup = picked_up();
        if let Some(trip) = to_pickup.trip.as_mut() {
            trip.phase = Phase::ToPickup;
            trip.picked_up_ms = None;
        }
        for (state, writes_state) in [(picked_up(), true), (delivered, false), (to_pickup, false)] {
            let plan = plan_fixes(&settings, &drivers, vec![state]);
            let to_state: Vec<&WriteOp> = plan
                .writes
                .iter()
                .filter(|write| match write {
                    WriteOp::HashSet(set) => set.key == "fare:trip:d1",
                    WriteOp::Delete(key) => key == "fare:trip:d1",
                    _ => false,
                })
                .collect();
            assert_eq!(to_state.len(), usize::from(writes_state), "{plan:?}");
            for write in to_state {
                let WriteOp::HashSet(set) = write else {
                    panic!("the state hash is never deleted: {plan:?}");
                };
                let names: Vec<&str> = set.fields.iter().map(|field| field.field.as_str()).collect();
                assert_eq!(
                    names,
                    [crate::state::RECORD],
                    "only the fare record, never `trip`: {plan:?}"
                );
            }
        }
    }

    #[test]
    fn the_running_fare_is_stored_with_its_event_time_as_version() {
        let settings = settings();
        let events = vec![event(0.0, 0, None), event(100.0, 10, None)];
        let plan = plan_fixes(&settings, &fixes_by_driver(&events), vec![picked_up()]);
        assert!(plan.messages.is_empty(), "running fares are not published");
        let Some(WriteOp::UpsertNewer(upsert)) = plan.writes.get(1) else {
            panic!("the fare record follows the state: {plan:?}");
        };
        assert_eq!((upsert.key.as_str(), upsert.version), ("fare:o1", 1_010_000));
        let status = upsert.fields.iter().find(|field| field.field == "status");
        assert_eq!(status.map(|field| field.value.as_str()), Some("running"));
    }
}
