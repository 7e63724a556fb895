//! A batch of order events: move each driver's trip along.
//!
//! An order batch owns the `trip` record of the driver's hash and writes
//! nothing else there: no delete of the hash, no `eta` record. A fix batch of
//! the same driver runs at the same time on another worker (the order topic
//! and the fix topic have their own partitions) and writes the `eta` record;
//! each batch kind rewriting only its own field is what keeps either from
//! undoing the other's update. The trip record holds every step time (empty
//! when unset), so a new trip written over an old one inherits none of its
//! pickup or end times; the last published estimate (`eta`'s `sent`) names
//! the trip it was for, so it never applies to a new one (see
//! [`crate::estimate::is_meaningful`]).
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
    /// The trip changed (a new one started or it moved to a later phase):
    /// its record is written.
    pub changed: bool,
    /// Orders whose estimate is over.
    pub ended_orders: Vec<String>,
}

/// Applies one driver's order events to their trip (the only part of the
/// state an order batch may change).
pub fn advance(trip: &mut Option<Trip>, orders: &[&OrderEvent]) -> TripUpdate {
    let mut update = TripUpdate::default();
    for order in orders {
        match Trip::apply(trip.as_ref(), order) {
            TripChange::Started(started) => {
                if let Some(old) = trip.take().filter(|old| old.phase.is_active()) {
                    update.ended_orders.push(old.order_id);
                }
                *trip = Some(started);
                update.changed = true;
            }
            TripChange::Advanced(advanced) => {
                if !advanced.phase.is_active() {
                    update.ended_orders.push(advanced.order_id.clone());
                }
                *trip = Some(advanced);
                update.changed = true;
            }
            TripChange::Ignored => {}
        }
    }
    update
}

/// The writes of an order batch, given each driver's events and their state
/// as read from kv (in the same order; see `sdk::group::orders_by_driver`):
/// per driver at most the `trip` record and the deletes of ended orders'
/// estimates. Order batches send no messages.
pub fn plan_orders(settings: &Settings, drivers: &BTreeMap<&str, Vec<&OrderEvent>>, states: Vec<DriverState>) -> Plan {
    let mut plan = Plan::default();
    for ((driver_id, orders), state) in drivers.iter().zip(states) {
        let mut trip = state.trip;
        let update = advance(&mut trip, orders);
        if let Some(trip) = trip.as_ref().filter(|_| update.changed) {
            plan.writes
                .push(WriteOp::hash_set(&state_key(settings, driver_id), trip.to_fields()));
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
    use fleethost_plugin_sdk::kv::FieldValue;
    use fleethost_plugin_sdk::trip::{self, Phase};
    use fleethost_plugin_sdk::{Event, OrderKind, PluginConfig, Point};

    use crate::estimate::{Sent, estimate, is_meaningful};
    use crate::fixes::{fixes_by_driver, plan_fixes};
    use crate::motion::{Fix, Motion};
    use crate::state::RECORD;

    const STATE_KEY: &str = "eta:trip:d1";

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

    /// A driver on `o0`, picked up, with a measured speed and a published estimate.
    fn state_on_o0() -> DriverState {
        let mut state = DriverState::default();
        let TripChange::Started(trip) = Trip::apply(None, &order(OrderKind::Assigned, "o0", 100)) else {
            panic!("an assignment starts a trip");
        };
        let TripChange::Advanced(trip) = Trip::apply(Some(&trip), &order(OrderKind::PickedUp, "o0", 200)) else {
            panic!("a pickup advances the trip");
        };
        state.trip = Some(trip);
        state.motion = Motion {
            last_ts_ms: Some(300),
            position: Some(Fix {
                latitude: 12.8,
                longitude: 77.6,
                ts_ms: 300,
            }),
            anchor: None,
            speed_mps: Some(9.0),
        };
        state.sent = Some(Sent {
            order_id: "o0".into(),
            assigned_ms: 100,
            phase: Phase::ToDropoff,
            eta_s: 10,
        });
        state
    }

    /// The driver's hash as stored.
    fn stored(state: &DriverState) -> Vec<FieldValue> {
        let mut fields = state.trip.as_ref().map(Trip::to_fields).unwrap_or_default();
        fields.extend(state.eta_fields());
        fields
    }

    fn order_plan(state: &DriverState, orders: &[OrderEvent]) -> Plan {
        plan_orders(&settings(), &orders_by_driver(orders), vec![state.clone()])
    }

    #[test]
    fn an_order_batch_writes_only_the_trip_record_and_never_deletes_the_hash() {
        let batches = [
            vec![order(OrderKind::Assigned, "o1", 1_000)],
            vec![order(OrderKind::Delivered, "o0", 1_000)],
            vec![order(OrderKind::Cancelled, "o0", 1_000)],
            vec![
                order(OrderKind::Delivered, "o0", 1_000),
                order(OrderKind::Assigned, "o1", 2_000),
            ],
            vec![
                order(OrderKind::Assigned, "o1", 1_000),
                order(OrderKind::PickedUp, "o1", 2_000),
                order(OrderKind::Assigned, "o2", 3_000),
            ],
        ];
        for (state, orders) in [DriverState::default(), state_on_o0()]
            .iter()
            .flat_map(|state| batches.iter().map(move |orders| (state, orders)))
        {
            let plan = order_plan(state, orders);
            let to_state: Vec<&WriteOp> = plan
                .writes
                .iter()
                .filter(|write| match write {
                    WriteOp::HashSet(set) => set.key == STATE_KEY,
                    WriteOp::Delete(key) => key == STATE_KEY,
                    _ => false,
                })
                .collect();
            let changed = advance(&mut state.trip.clone(), &orders.iter().collect::<Vec<_>>()).changed;
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

    #[test]
    fn a_new_trip_over_the_old_one_inherits_nothing_of_it_and_keeps_the_speed() {
        let mut old = state_on_o0();
        let TripChange::Advanced(delivered) = Trip::apply(old.trip.as_ref(), &order(OrderKind::Delivered, "o0", 400))
        else {
            panic!("a delivery ends the trip");
        };
        old.trip = Some(delivered);
        let mut hash = stored(&old);
        order_plan(&old, &[order(OrderKind::Assigned, "o1", 1_000)]).apply_to_hash(STATE_KEY, &mut hash);
        let new = DriverState::from_fields(&hash);
        let trip = new.trip.as_ref().expect("the new trip");
        assert_eq!(
            (
                trip.order_id.as_str(),
                trip.phase,
                trip.assigned_ms,
                trip.picked_up_ms,
                trip.ended_ms
            ),
            ("o1", Phase::ToPickup, 1_000, None, None)
        );
        assert_eq!(
            (&new.motion, &new.sent),
            (&old.motion, &old.sent),
            "the eta record is untouched"
        );
        // The old trip's last estimate is not the new trip's: its first is published.
        let position = new.motion.position.expect("a position");
        let first = estimate(trip, position, new.motion.speed_mps, &settings().estimate).expect("active");
        assert!(is_meaningful(new.sent.as_ref(), &first, &settings().estimate));
    }

    #[test]
    fn racing_fix_and_order_batches_keep_both_updates() {
        // Both batches read the same hash, then write in either order.
        let settings = settings();
        let read = state_on_o0();
        let fix = Event {
            driver_id: "d1".into(),
            latitude: 12.8001,
            longitude: 77.6,
            timestamp_ms: 5_000,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset: 0,
        };
        let fixes = [fix];
        let fix_plan = plan_fixes(&settings, &fixes_by_driver(&fixes), vec![read.clone()]);
        for orders in [
            vec![order(OrderKind::Assigned, "o1", 1_000)],
            vec![order(OrderKind::Delivered, "o0", 1_000)],
        ] {
            let order_plan = order_plan(&read, &orders);
            for fix_first in [true, false] {
                let mut hash = stored(&read);
                if fix_first {
                    fix_plan.apply_to_hash(STATE_KEY, &mut hash);
                    order_plan.apply_to_hash(STATE_KEY, &mut hash);
                } else {
                    order_plan.apply_to_hash(STATE_KEY, &mut hash);
                    fix_plan.apply_to_hash(STATE_KEY, &mut hash);
                }
                let after = DriverState::from_fields(&hash);
                let mut trip = read.trip.clone();
                advance(&mut trip, &orders.iter().collect::<Vec<_>>());
                assert_eq!(
                    after.trip, trip,
                    "the order batch's trip ({orders:?}, fix first: {fix_first})"
                );
                assert_eq!(
                    after.motion.position.map(|fix| fix.ts_ms),
                    Some(5_000),
                    "the fix batch's motion ({orders:?}, fix first: {fix_first})"
                );
            }
        }
    }

    #[test]
    fn an_ended_trip_deletes_its_estimate_once() {
        let orders = [
            order(OrderKind::Assigned, "o1", 1_000),
            order(OrderKind::PickedUp, "o1", 2_000),
            order(OrderKind::Delivered, "o1", 3_000),
        ];
        let mut trip = None;
        let update = advance(&mut trip, &orders.iter().collect::<Vec<_>>());
        assert_eq!(update.ended_orders, vec!["o1".to_string()]);
        assert_eq!(trip.as_ref().map(|trip| trip.phase), Some(Phase::Delivered));
        // The same events again (a redelivered batch) change nothing.
        let again = advance(&mut trip, &orders[1..].iter().collect::<Vec<_>>());
        assert_eq!(again, TripUpdate::default());
    }

    #[test]
    fn reassignment_ends_the_active_trip() {
        let orders = [
            order(OrderKind::Assigned, "o1", 1_000),
            order(OrderKind::Assigned, "o2", 2_000),
        ];
        let plan = order_plan(&DriverState::default(), &orders);
        assert_eq!(plan.writes.last(), Some(&WriteOp::Delete("eta:o1".into())));
        assert!(plan.messages.is_empty());
    }
}
