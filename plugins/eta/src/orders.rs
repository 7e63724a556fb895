//! A batch of order events: move each driver's trip along.
//!
//! Order events never publish an estimate themselves: a new trip waits for
//! the driver's next fix, a pickup makes the next fix publish a `to_dropoff`
//! estimate (a new phase is always published). When a trip ends (delivered,
//! cancelled, or replaced by a new assignment while active) its
//! `eta:{order_id}` hash is deleted.

use std::collections::BTreeMap;

use fleethost_plugin_sdk::kv::WriteOp;
use fleethost_plugin_sdk::trip::{Trip, TripChange};
use fleethost_plugin_sdk::{OrderEvent, Plan};

use crate::plan::{eta_key, state_key};
use crate::settings::Settings;
use crate::state::DriverState;

/// What a driver's order events of one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TripUpdate {
    /// A new trip started: the whole hash is rewritten (a new trip must not
    /// inherit the old one's pickup or end times).
    pub replaced: bool,
    /// The trip changed: its fields are written.
    pub changed: bool,
    /// Orders whose estimate is over.
    pub ended_orders: Vec<String>,
}

/// Applies one driver's order events to their state.
pub fn advance(state: &mut DriverState, orders: &[&OrderEvent]) -> TripUpdate {
    let mut update = TripUpdate::default();
    for order in orders {
        match Trip::apply(state.trip.as_ref(), order) {
            TripChange::Started(trip) => {
                if let Some(old) = state.trip.take().filter(|old| old.phase.is_active()) {
                    update.ended_orders.push(old.order_id);
                }
                state.trip = Some(trip);
                state.sent = None;
                update.replaced = true;
                update.changed = true;
            }
            TripChange::Advanced(trip) => {
                if !trip.phase.is_active() {
                    update.ended_orders.push(trip.order_id.clone());
                }
                state.trip = Some(trip);
                update.changed = true;
            }
            TripChange::Ignored => {}
        }
    }
    update
}

/// The writes of an order batch, given each driver's events and their state
/// as read from kv (in the same order; see `sdk::group::orders_by_driver`).
/// Order batches send no messages.
pub fn plan_orders(settings: &Settings, drivers: &BTreeMap<&str, Vec<&OrderEvent>>, states: Vec<DriverState>) -> Plan {
    let mut plan = Plan::default();
    for ((driver_id, orders), mut state) in drivers.iter().zip(states) {
        let update = advance(&mut state, orders);
        let key = state_key(settings, driver_id);
        if update.replaced {
            plan.writes.push(WriteOp::Delete(key.clone()));
            plan.writes.push(WriteOp::hash_set(&key, state.all_fields()));
        } else if let Some(trip) = state.trip.as_ref().filter(|_| update.changed) {
            plan.writes.push(WriteOp::hash_set(&key, trip.to_fields()));
        }
        for order_id in &update.ended_orders {
            plan.writes.push(WriteOp::Delete(eta_key(settings, order_id)));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::group::orders_by_driver;
    use fleethost_plugin_sdk::trip::Phase;
    use fleethost_plugin_sdk::{OrderKind, PluginConfig, Point};

    use crate::estimate::Sent;
    use crate::motion::Fix;

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

    fn settings() -> Settings {
        Settings::from_config(&PluginConfig::new(Vec::new())).expect("valid")
    }

    #[test]
    fn a_new_trip_keeps_the_speed_and_forgets_the_last_estimate() {
        let mut state = DriverState::default();
        state.motion.speed_mps = Some(9.0);
        state.motion.position = Some(Fix {
            latitude: 1.0,
            longitude: 2.0,
            ts_ms: 5,
        });
        state.sent = Some(Sent {
            order_id: "o0".into(),
            phase: Phase::ToDropoff,
            eta_s: 10,
        });
        let orders = [order(OrderKind::Assigned, "o1", 1_000)];
        let drivers = orders_by_driver(&orders);
        let plan = plan_orders(&settings(), &drivers, vec![state]);
        assert_eq!(plan.writes.len(), 2, "{plan:?}");
        assert_eq!(plan.writes[0], WriteOp::Delete("eta:trip:d1".into()));
        let WriteOp::HashSet(written) = &plan.writes[1] else {
            panic!("the new state follows the delete");
        };
        let stored = DriverState::from_fields(&written.fields);
        assert_eq!(
            stored.trip.map(|trip| (trip.order_id, trip.phase)),
            Some(("o1".into(), Phase::ToPickup))
        );
        assert_eq!((stored.motion.speed_mps, stored.sent), (Some(9.0), None));
        assert!(plan.messages.is_empty());
    }

    #[test]
    fn an_ended_trip_deletes_its_estimate_once() {
        let orders = [
            order(OrderKind::Assigned, "o1", 1_000),
            order(OrderKind::PickedUp, "o1", 2_000),
            order(OrderKind::Delivered, "o1", 3_000),
        ];
        let mut state = DriverState::default();
        let update = advance(&mut state, &orders.iter().collect::<Vec<_>>());
        assert_eq!(update.ended_orders, vec!["o1".to_string()]);
        assert_eq!(state.trip.as_ref().map(|trip| trip.phase), Some(Phase::Delivered));
        // The same events again (a redelivered batch) change nothing.
        let again = advance(&mut state, &orders[1..].iter().collect::<Vec<_>>());
        assert_eq!(again, TripUpdate::default());
    }

    #[test]
    fn reassignment_ends_the_active_trip() {
        let orders = [
            order(OrderKind::Assigned, "o1", 1_000),
            order(OrderKind::Assigned, "o2", 2_000),
        ];
        let drivers = orders_by_driver(&orders);
        let plan = plan_orders(&settings(), &drivers, vec![DriverState::default()]);
        assert_eq!(plan.writes.last(), Some(&WriteOp::Delete("eta:o1".into())));
    }
}
