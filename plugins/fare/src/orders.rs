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
    /// A new trip started: the hash is rewritten from scratch (a new trip must
    /// not inherit the old one's pickup or end times).
    pub replaced: bool,
    /// The trip changed: its fields are written.
    pub changed: bool,
    /// Final fares (published and stored).
    pub finals: Vec<FareRecord>,
    /// Fares of trips cancelled after pickup (stored only).
    pub cancelled: Vec<FareRecord>,
}

/// Applies one driver's order events to their state.
pub fn advance(state: &mut DriverState, orders: &[&OrderEvent], settings: &Settings) -> TripUpdate {
    let mut update = TripUpdate::default();
    for order in orders {
        match Trip::apply(state.trip.as_ref(), order) {
            TripChange::Started(trip) => {
                state.trip = Some(trip);
                state.metering = None;
                update.replaced = true;
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
/// `sdk::group::orders_by_driver`).
pub fn plan_orders(settings: &Settings, drivers: &BTreeMap<&str, Vec<&OrderEvent>>, states: Vec<DriverState>) -> Plan {
    let mut plan = Plan::default();
    for ((driver_id, orders), mut state) in drivers.iter().zip(states) {
        let update = advance(&mut state, orders, settings);
        let key = state_key(settings, driver_id);
        if let Some(trip) = state.trip.as_ref().filter(|_| update.changed) {
            if update.replaced {
                plan.writes.push(WriteOp::Delete(key.clone()));
            }
            plan.writes.push(WriteOp::hash_set(&key, trip.to_fields()));
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
    use fleethost_plugin_sdk::group::orders_by_driver;
    use fleethost_plugin_sdk::{OrderKind, PluginConfig, Point};

    use crate::odometer::Odometer;
    use crate::plan::FINAL_VERSION;
    use crate::state::Metering;

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

    /// Runs `orders` as one batch on `state`, returning the plan and the state
    /// as it would read back from kv.
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
                ..Metering::new("o1")
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

    #[test]
    fn a_new_trip_rewrites_the_hash_and_drops_the_metering() {
        let state = DriverState {
            metering: Some(Metering::new("o0")),
            ..DriverState::default()
        };
        let (plan, after) = run(state, &[order(OrderKind::Assigned, "o1", 0)]);
        assert_eq!(plan.writes[0], WriteOp::Delete("fare:trip:d1".into()));
        assert_eq!(after.metering, None);
    }
}
