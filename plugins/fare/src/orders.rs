//! A batch of order events: move each driver's trip along and settle the fare
//! of delivered trips.
//!
//! At delivery the final fare is computed from the metering in kv (distance
//! counted so far, surge region) and the pickup→delivery time, published once
//! on `fare_topic` and stored with status `final`. Once because the delivered
//! trip is in kv: the same event redelivered is ignored by `Trip::apply`.
//! Fixes whose batch is processed after the delivery event are not counted.
//! A trip cancelled after pickup gets its fare record marked `cancelled`
//! (not published); one cancelled before pickup has none.
//!
//! An order batch owns the `trip` record of the driver's hash and writes
//! nothing else there: no `fare` record, no delete of the hash. A fix batch of
//! the same driver runs at the same time on another worker (the order topic
//! and the fix topic have their own partitions) and writes the `fare` record;
//! a delete here would race it, and a metering that batch wrote just after the
//! delete would survive next to the new trip. A new trip therefore starts its
//! metering not by clearing the old one but by being another trip: the
//! metering names its trip (order id and assignment time, see
//! [`crate::state::Metering::is_of`]), so a new trip uses none of an earlier
//! one's, even of the same order assigned again. The trip record holds every
//! step time (empty when unset), so a new trip written over an old one
//! inherits none of its pickup or end times.

use std::collections::BTreeMap;

use fleethost_plugin_sdk::kv::WriteOp;
use fleethost_plugin_sdk::trip::{Phase, Trip, TripChange};
use fleethost_plugin_sdk::{OrderEvent, Plan};

use crate::plan::{FareRecord, Status, publish, state_key, store};
use crate::settings::Settings;
use crate::state::DriverState;

/// What a driver's order events of one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TripUpdate {
    /// The trip changed (a new one started or it moved to a later phase):
    /// its record is written.
    pub changed: bool,
    /// Final fares (published and stored).
    pub finals: Vec<FareRecord>,
    /// Fares of trips cancelled after pickup (stored only).
    pub cancelled: Vec<FareRecord>,
}

/// Applies one driver's order events to their state: the trip, and the
/// metering only as this batch sees it (a new trip's later events in the same
/// batch, a delivery say, use none of the old trip's metering); only the trip
/// is written back.
pub fn advance(state: &mut DriverState, orders: &[&OrderEvent], settings: &Settings) -> TripUpdate {
    let mut update = TripUpdate::default();
    for order in orders {
        match Trip::apply(state.trip.as_ref(), order) {
            TripChange::Started(trip) => {
                state.trip = Some(trip);
                state.metering = None;
                update.changed = true;
            }
            TripChange::Advanced(trip) => {
                let metering = state.current_metering();
                let ended_ms = trip.ended_ms.unwrap_or(order.timestamp_ms);
                match trip.phase {
                    Phase::Delivered => update.finals.push(FareRecord::new(
                        settings,
                        &trip,
                        metering.as_ref(),
                        Status::Final,
                        ended_ms,
                    )),
                    Phase::Cancelled if trip.picked_up_ms.is_some() => update.cancelled.push(FareRecord::new(
                        settings,
                        &trip,
                        metering.as_ref(),
                        Status::Cancelled,
                        ended_ms,
                    )),
                    _ => {}
                }
                state.trip = Some(trip);
                update.changed = true;
            }
            TripChange::Ignored => {}
        }
    }
    update
}

/// The writes and messages of an order batch, given each driver's events and
/// their state as read from kv (in the same order; see
/// `sdk::group::orders_by_driver`): per driver at most the `trip` record and
/// the final or cancelled fare records.
pub fn plan_orders(settings: &Settings, drivers: &BTreeMap<&str, Vec<&OrderEvent>>, states: Vec<DriverState>) -> Plan {
    let mut plan = Plan::default();
    for ((driver_id, orders), mut state) in drivers.iter().zip(states) {
        let update = advance(&mut state, orders, settings);
        if let Some(trip) = state.trip.as_ref().filter(|_| update.changed) {
            plan.writes
                .push(WriteOp::hash_set(&state_key(settings, driver_id), trip.to_fields()));
        }
        for record in &update.finals {
            publish(&mut plan, settings, record);
            store(&mut plan, settings, record);
        }
        for record in &update.cancelled {
            store(&mut plan, settings, record);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::group::{fixes_by_driver, orders_by_driver};
    use fleethost_plugin_sdk::kv::FieldValue;
    use fleethost_plugin_sdk::trip;
    use fleethost_plugin_sdk::{Event, OrderKind, PluginConfig, Point};

    use crate::fixes::plan_fixes;
    use crate::odometer::{Fix, Odometer};
    use crate::plan::FINAL_VERSION;
    use crate::state::{Metering, RECORD};

    const STATE_KEY: &str = "fare:trip:d1";

    fn settings() -> Settings {
        let config = vec![("surge".to_string(), "south=1.5".to_string())];
        Settings::from_config(&PluginConfig::new(config)).expect("valid")
    }

    fn order(kind: OrderKind, order_id: &str, ts_ms: i64) -> OrderEvent {
        let point = Some(Point {
            latitude: 12.9,
            longitude: 77.6,
        });
        OrderEvent {
            order_id: order_id.into(),
            driver_id: "d1".into(),
            kind,
            pickup: point,
            dropoff: point,
            timestamp_ms: ts_ms,
            offset: 0,
        }
    }

    /// Runs `orders` as one batch on `state`, returning the plan and the
    /// driver's state after it as the batch sees it.
    fn run(state: DriverState, orders: &[OrderEvent]) -> (Plan, DriverState) {
        let drivers = orders_by_driver(orders);
        let mut next = state.clone();
        advance(&mut next, &drivers["d1"], &settings());
        (plan_orders(&settings(), &drivers, vec![state]), next)
    }

    fn payload(plan: &Plan) -> Vec<String> {
        plan.messages
            .iter()
            .map(|message| String::from_utf8_lossy(&message.payload).into_owned())
            .collect()
    }

    #[test]
    fn delivery_publishes_the_final_fare_once() {
        let (_, state) = run(
            DriverState::default(),
            &[
                order(OrderKind::Assigned, "o1", 0),
                order(OrderKind::PickedUp, "o1", 60_000),
            ],
        );
        let metered = DriverState {
            metering: Some(Metering {
                odometer: Odometer {
                    anchor: None,
                    distance_m: 4_321.0,
                },
                region: Some("south".into()),
                ..state.trip.as_ref().map(Metering::new).expect("a trip")
            }),
            ..state
        };
        let delivered = [order(OrderKind::Delivered, "o1", 60_000 + 900_000)];
        let (plan, after) = run(metered, &delivered);
        // (30 + 12 * 4.321 + 1.5 * 15) * 1.5 = 104.352 * 1.5 = 156.528 -> 156.53
        assert_eq!(
            payload(&plan),
            vec![
                r#"{"order_id":"o1","driver_id":"d1","status":"final","distance_m":4321,"duration_s":900,"fare":156.53,"currency":"INR","surge":1.5,"ts_ms":960000}"#
            ]
        );
        assert_eq!(plan.messages[0].key.as_deref(), Some("o1"));
        let upsert = plan.writes.iter().find_map(|write| match write {
            WriteOp::UpsertNewer(upsert) => Some(upsert),
            _ => None,
        });
        assert_eq!(upsert.map(|upsert| upsert.version), Some(FINAL_VERSION));
        // The same delivery again: the trip in kv is delivered, nothing happens.
        let (again, _) = run(after, &delivered);
        assert!(again.messages.is_empty() && again.writes.is_empty(), "{again:?}");
    }

    #[test]
    fn a_trip_delivered_without_metering_pays_the_minimum() {
        let (plan, _) = run(
            DriverState::default(),
            &[
                order(OrderKind::Assigned, "o1", 0),
                order(OrderKind::PickedUp, "o1", 1_000),
                order(OrderKind::Delivered, "o1", 61_000),
            ],
        );
        assert_eq!(plan.messages.len(), 1);
        assert!(payload(&plan)[0].contains(r#""fare":50,"#), "{:?}", payload(&plan));
    }

    #[test]
    fn cancellation_after_pickup_is_stored_not_published() {
        let orders = [
            order(OrderKind::Assigned, "o1", 0),
            order(OrderKind::PickedUp, "o1", 1_000),
            order(OrderKind::Cancelled, "o1", 2_000),
        ];
        let (plan, _) = run(DriverState::default(), &orders);
        assert!(plan.messages.is_empty());
        assert!(
            plan.writes
                .iter()
                .any(|write| matches!(write, WriteOp::UpsertNewer(upsert)
            if upsert.fields.iter().any(|field| field.field == "status" && field.value == "cancelled")))
        );
        let (before_pickup, _) = run(
            DriverState::default(),
            &[
                order(OrderKind::Assigned, "o2", 0),
                order(OrderKind::Cancelled, "o2", 1_000),
            ],
        );
        assert!(
            !before_pickup
                .writes
                .iter()
                .any(|write| matches!(write, WriteOp::UpsertNewer(_)))
        );
    }

    /// A fix `metres` north of (12.9, 77.6) at `ts_ms`.
    fn fix(metres: f64, ts_ms: i64) -> Event {
        Event {
            driver_id: "d1".into(),
            latitude: 12.9 + metres / 111_195.0,
            longitude: 77.6,
            timestamp_ms: ts_ms,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset: 0,
        }
    }

    /// The odometer's distance between two of [`fix`]'s fixes.
    fn between(from: &Event, to: &Event) -> f64 {
        let point = |event: &Event| Fix {
            latitude: event.latitude,
            longitude: event.longitude,
            ts_ms: event.timestamp_ms,
        };
        point(from).distance_to(&point(to))
    }

    /// A driver on `o1`, assigned at 0 and picked up at 1 000 ms, with 300 m
    /// metered up to 31 000 ms.
    fn metered_o1() -> DriverState {
        let (_, state) = run(
            DriverState::default(),
            &[
                order(OrderKind::Assigned, "o1", 0),
                order(OrderKind::PickedUp, "o1", 1_000),
            ],
        );
        let last = fix(300.0, 31_000);
        DriverState {
            metering: Some(Metering {
                last_ts_ms: Some(last.timestamp_ms),
                now_ms: Some(last.timestamp_ms),
                odometer: Odometer {
                    anchor: Some(Fix {
                        latitude: last.latitude,
                        longitude: last.longitude,
                        ts_ms: last.timestamp_ms,
                    }),
                    distance_m: 300.0,
                },
                ..state.trip.as_ref().map(Metering::new).expect("a trip")
            }),
            ..state
        }
    }

    /// The driver's hash as stored.
    fn stored(state: &DriverState) -> Vec<FieldValue> {
        let mut fields = state.trip.as_ref().map(Trip::to_fields).unwrap_or_default();
        fields.extend(state.metering_fields());
        fields
    }

    fn fix_plan(state: &DriverState, fixes: &[Event]) -> Plan {
        plan_fixes(&settings(), &fixes_by_driver(fixes), vec![state.clone()])
    }

    fn order_plan(state: &DriverState, orders: &[OrderEvent]) -> Plan {
        plan_orders(&settings(), &orders_by_driver(orders), vec![state.clone()])
    }

    #[test]
    fn an_order_batch_writes_only_the_trip_record_and_never_deletes_the_hash() {
        let batches = [
            vec![order(OrderKind::Assigned, "o2", 40_000)],
            vec![order(OrderKind::Delivered, "o1", 40_000)],
            vec![order(OrderKind::Cancelled, "o1", 40_000)],
            vec![
                order(OrderKind::Delivered, "o1", 40_000),
                order(OrderKind::Assigned, "o2", 41_000),
            ],
            vec![
                order(OrderKind::Assigned, "o2", 40_000),
                order(OrderKind::Assigned, "o1", 41_000),
            ],
            vec![
                order(OrderKind::Assigned, "o2", 40_000),
                order(OrderKind::PickedUp, "o2", 41_000),
                order(OrderKind::Delivered, "o2", 42_000),
            ],
        ];
        for state in [DriverState::default(), metered_o1()] {
            for orders in &batches {
                let plan = order_plan(&state, orders);
                let to_state: Vec<&WriteOp> = plan
                    .writes
                    .iter()
                    .filter(|write| match write {
                        WriteOp::HashSet(set) => set.key == STATE_KEY,
                        WriteOp::Delete(key) => key == STATE_KEY,
                        _ => false,
                    })
                    .collect();
                let changed = run(state.clone(), orders).1.trip != state.trip;
                assert_eq!(
                    to_state.len(),
                    usize::from(changed),
                    "one write of the state per batch that changed the trip: {plan:?}"
                );
                for write in to_state {
                    let WriteOp::HashSet(set) = write else {
                        panic!("the state hash is never deleted: {plan:?}");
                    };
                    let names: Vec<&str> = set.fields.iter().map(|field| field.field.as_str()).collect();
                    assert_eq!(
                        names,
                        [trip::RECORD],
                        "only the trip record, never `{RECORD}`: {plan:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_new_trip_inherits_no_metering_of_the_old_one() {
        // Another order, and the same order assigned again after another.
        for orders in [
            vec![
                order(OrderKind::Delivered, "o1", 40_000),
                order(OrderKind::Assigned, "o2", 41_000),
            ],
            vec![
                order(OrderKind::Assigned, "o2", 40_000),
                order(OrderKind::Assigned, "o1", 41_000),
            ],
        ] {
            let old = metered_o1();
            let mut hash = stored(&old);
            order_plan(&old, &orders).apply_to_hash(STATE_KEY, &mut hash);
            let new = DriverState::from_fields(&hash);
            let trip = new.trip.as_ref().expect("the new trip");
            assert_eq!(
                (trip.assigned_ms, trip.picked_up_ms, trip.ended_ms),
                (41_000, None, None),
                "{orders:?}"
            );
            assert_eq!(new.current_metering(), Some(Metering::new(trip)), "{orders:?}");
        }
    }

    #[test]
    fn racing_fix_and_order_batches_keep_both_updates() {
        // Both batches read the same hash (o1 under way), then write in
        // either order; a fix batch after the order batch, and then (after
        // the new trip's pickup) another, follow.
        let read = metered_o1();
        let racing_fixes = [fix(400.0, 41_000), fix(500.0, 51_000)];
        let racing_fix_plan = fix_plan(&read, &racing_fixes);
        let mut metered = read.clone();
        crate::fixes::advance(&mut metered, &racing_fixes.iter().collect::<Vec<_>>(), &settings());
        for orders in [
            vec![order(OrderKind::Assigned, "o1b", 45_000)],
            vec![order(OrderKind::Delivered, "o1", 45_000)],
            vec![
                order(OrderKind::Delivered, "o1", 45_000),
                order(OrderKind::Assigned, "o2", 46_000),
            ],
            vec![
                order(OrderKind::Assigned, "o2", 45_000),
                order(OrderKind::Assigned, "o1", 46_000),
            ],
        ] {
            let racing_order_plan = order_plan(&read, &orders);
            let trip = run(read.clone(), &orders).1.trip;
            for fix_first in [true, false] {
                let mut hash = stored(&read);
                if fix_first {
                    racing_fix_plan.apply_to_hash(STATE_KEY, &mut hash);
                    racing_order_plan.apply_to_hash(STATE_KEY, &mut hash);
                } else {
                    racing_order_plan.apply_to_hash(STATE_KEY, &mut hash);
                    racing_fix_plan.apply_to_hash(STATE_KEY, &mut hash);
                }
                let after = DriverState::from_fields(&hash);
                let case = format!("{orders:?}, fix first: {fix_first}");
                assert_eq!(after.trip, trip, "the order batch's trip ({case})");
                assert_eq!(after.metering, metered.metering, "the fix batch's metering ({case})");
                // A new trip (the same order assigned again included) meters
                // only its own fixes once picked up.
                let Some(new_trip) = trip.as_ref().filter(|trip| trip.assigned_ms > 0) else {
                    continue;
                };
                assert_eq!(after.current_metering(), Some(Metering::new(new_trip)), "{case}");
                let pickup = [order(OrderKind::PickedUp, &new_trip.order_id, 60_000)];
                order_plan(&after, &pickup).apply_to_hash(STATE_KEY, &mut hash);
                let own_fixes = [fix(600.0, 61_000), fix(700.0, 71_000)];
                let picked_up = DriverState::from_fields(&hash);
                let mut next = picked_up.clone();
                let running = crate::fixes::advance(&mut next, &own_fixes.iter().collect::<Vec<_>>(), &settings())
                    .running
                    .expect("metered");
                let own = between(&own_fixes[0], &own_fixes[1]);
                assert!(
                    (running.quote.distance_m - own).abs() < 1e-6,
                    "the new trip's {} m, not its own {own} m ({case})",
                    running.quote.distance_m
                );
            }
        }
    }
}
