//! One batch from the stored driver hashes to the writes and notifications:
//! everything `process-batch` does except the three host calls, so that it can
//! be tested natively with a map standing in for kv.
//!
//! Per driver of the batch: the order events (in offset order) move the trip
//! along and, when they changed it, its `trip_*` fields are written; then the
//! fixes run through [`track_fixes`] against the (updated) trip and, when the
//! state changed, the plugin's own fields are written. An order batch
//! therefore writes only trip fields and a location batch only fix fields, so
//! the two workers never overwrite each other's fields of a shared hash.

use std::collections::BTreeMap;

use fleethost_plugin_sdk::kv::{FieldValue, HashSetOp, PublishOp, WriteOp};
use fleethost_plugin_sdk::record::Values;
use fleethost_plugin_sdk::trip::{self, Trip};
use fleethost_plugin_sdk::{Batch, Event, OrderEvent, Plan, group};

use crate::driver_state::{self, DriverState};
use crate::notification::Notification;
use crate::settings::Settings;
use crate::tracker::{Fences, track_fixes};
use crate::trip_state::apply_order_events;

/// One driver's records of a batch.
#[derive(Debug, Default)]
pub struct DriverRecords<'a> {
    /// The driver's id.
    pub driver_id: &'a str,
    /// Order events, in offset order.
    pub orders: Vec<&'a OrderEvent>,
    /// Location fixes, in event-time order (batch order on equal times).
    pub fixes: Vec<&'a Event>,
}

/// The batch's records per driver, grouped as every plugin groups them (the
/// SDK's [`group`]): drivers in id order, so that the reads, the writes and
/// the notifications of a batch come in the same order every time it is
/// processed. A batch holds fixes or order events; both are grouped, a
/// driver's order events applied before its fixes.
pub fn group_by_driver(batch: &Batch) -> Vec<DriverRecords<'_>> {
    let mut drivers: BTreeMap<&str, DriverRecords<'_>> = group::orders_by_driver(&batch.orders)
        .into_iter()
        .map(|(driver_id, orders)| {
            let records = DriverRecords {
                driver_id,
                orders,
                fixes: Vec::new(),
            };
            (driver_id, records)
        })
        .collect();
    for (driver_id, fixes) in group::fixes_by_driver(&batch.events) {
        drivers
            .entry(driver_id)
            .or_insert_with(|| DriverRecords {
                driver_id,
                ..DriverRecords::default()
            })
            .fixes = fixes;
    }
    drivers.into_values().collect()
}

/// What a batch leads to.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// Hash writes, at most one per driver.
    pub writes: Vec<HashSetOp>,
    /// Notifications to produce, keyed by driver id.
    pub notifications: Vec<Notification>,
}

impl Outcome {
    /// The host calls of the outcome: the notifications as messages on
    /// `topic`, and one kv write holding the hash writes and, for the live
    /// map (`fleethost track`), a publish of each notification on the Redis
    /// pub/sub channel `live_channel`.
    pub fn into_plan(self, topic: &str, live_channel: &str) -> Plan {
        let publishes = self.notifications.iter().map(|notification| {
            WriteOp::Publish(PublishOp {
                channel: live_channel.to_string(),
                message: notification.to_json(),
            })
        });
        Plan {
            messages: self
                .notifications
                .iter()
                .map(|notification| notification.to_message(topic))
                .collect(),
            writes: self.writes.into_iter().map(WriteOp::HashSet).chain(publishes).collect(),
        }
    }
}

/// Works out the batch's writes and notifications; `hashes` holds the stored
/// hash of each group's driver, in the same order as `groups`.
pub fn plan(settings: &Settings, groups: &[DriverRecords<'_>], hashes: &[Vec<FieldValue>]) -> Outcome {
    let fences = Fences {
        fixed: &settings.fences,
        thresholds: settings.thresholds,
    };
    let mut outcome = Outcome::default();
    for (records, stored) in groups.iter().zip(hashes) {
        let mut fields = Vec::new();
        let values = Values::of(stored, &[trip::RECORD, driver_state::RECORD]);
        let mut trip = Trip::from_values(&values);
        if !records.orders.is_empty()
            && let Some(changed) = apply_order_events(trip.clone(), records.orders.iter().copied())
        {
            fields.extend(changed.to_fields());
            trip = Some(changed);
        }
        if !records.fixes.is_empty() {
            let before = DriverState::from_values(&values);
            let mut state = before.clone();
            let notifications = track_fixes(records.driver_id, &records.fixes, trip.as_ref(), fences, &mut state);
            outcome.notifications.extend(notifications);
            if state != before {
                fields.extend(state.to_fields());
            }
        }
        if !fields.is_empty() {
            outcome.writes.push(HashSetOp {
                key: settings.state_key(records.driver_id),
                fields,
            });
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::{Kind, Stop, Subject};
    use crate::test_support::{CENTRE, Store, batch, fix, kinds, offset, order, settings};
    use fleethost_plugin_sdk::OrderKind;

    fn config() -> Settings {
        settings(&[("key_prefix", "t:"), ("fences", "hub:circle:12.97,77.59,200")])
    }

    fn field_names(store: &Store, key: &str) -> Vec<String> {
        let mut names: Vec<String> = store.hashes[key].iter().map(|field| field.field.clone()).collect();
        names.sort();
        names
    }

    #[test]
    fn order_and_location_batches_write_their_own_fields() {
        let settings = config();
        let mut store = Store::default();
        let far = offset(CENTRE, 0.0, 5_000.0);
        let orders = batch(
            Vec::new(),
            vec![order(OrderKind::Assigned, "d1", "o1", 1_000, far, far)],
        );
        let outcome = store.run(&settings, &orders);
        assert!(outcome.notifications.is_empty());
        let written = |outcome: &Outcome| -> Vec<String> {
            outcome.writes[0]
                .fields
                .iter()
                .map(|field| field.field.clone())
                .collect()
        };
        assert_eq!(written(&outcome), ["trip"]);
        let fixes = batch(vec![fix("d1", 2_000, CENTRE)], Vec::new());
        let outcome = store.run(&settings, &fixes);
        assert_eq!(outcome.writes.len(), 1);
        assert_eq!(outcome.writes[0].key, "t:geofence:d1");
        assert_eq!(written(&outcome), ["geofence"]);
        assert_eq!(field_names(&store, "t:geofence:d1"), ["geofence", "trip"]);
        let values = fleethost_plugin_sdk::record::unpack(&store.hashes["t:geofence:d1"], &["trip", "geofence"]);
        for name in [
            "inside",
            "last_fix_ms",
            "sent_near_pickup",
            "trip_order_id",
            "trip_phase",
        ] {
            assert!(
                values.iter().any(|known| known.field == name),
                "{name} missing from {values:?}"
            );
        }
    }

    #[test]
    fn racing_fix_and_order_batches_end_as_if_the_fix_batch_ran_first() {
        // A fix batch and an order batch that read the same hash, then write
        // in either order, emit and leave exactly what the fix batch and then
        // the order batch, one after the other, would have.
        let settings = config();
        let key = "t:geofence:d1";
        let pickup = offset(CENTRE, 90.0, 2_000.0);
        let dropoff = offset(CENTRE, 0.0, 4_000.0);
        let mut start = Store::default();
        start.run(
            &settings,
            &batch(
                Vec::new(),
                vec![order(OrderKind::Assigned, "d1", "o1", 1_000, pickup, dropoff)],
            ),
        );
        start.run(&settings, &batch(vec![fix("d1", 2_000, CENTRE)], Vec::new()));
        let fixes = batch(
            vec![
                fix("d1", 3_000, offset(pickup, 270.0, 450.0)),
                fix("d1", 4_000, offset(pickup, 270.0, 40.0)),
                fix("d1", 30_000, offset(dropoff, 180.0, 30.0)),
            ],
            Vec::new(),
        );
        let step = |kind, order_id, at| order(kind, "d1", order_id, at, pickup, dropoff);
        for orders in [
            vec![step(OrderKind::PickedUp, "o1", 20_000)],
            vec![step(OrderKind::Delivered, "o1", 20_000)],
            vec![step(OrderKind::Cancelled, "o1", 20_000)],
            vec![step(OrderKind::Assigned, "o2", 20_000)],
            vec![
                step(OrderKind::Assigned, "o2", 20_000),
                step(OrderKind::Assigned, "o1", 21_000),
            ],
        ] {
            let orders = batch(Vec::new(), orders);
            let mut serial = start.clone();
            let serial_fixes = serial.run(&settings, &fixes);
            let serial_orders = serial.run(&settings, &orders);
            let racing_fixes = start.plan(&settings, &fixes);
            let racing_orders = start.plan(&settings, &orders);
            for (outcome, record) in [(&racing_fixes, driver_state::RECORD), (&racing_orders, trip::RECORD)] {
                for write in &outcome.writes {
                    let names: Vec<&str> = write.fields.iter().map(|field| field.field.as_str()).collect();
                    assert_eq!(names, [record], "each batch kind writes only its own record");
                }
            }
            assert_eq!(racing_fixes, serial_fixes, "{orders:?}");
            assert_eq!(racing_orders, serial_orders, "{orders:?}");
            for fix_first in [true, false] {
                let mut racing = start.clone();
                if fix_first {
                    racing.write(&racing_fixes);
                    racing.write(&racing_orders);
                } else {
                    racing.write(&racing_orders);
                    racing.write(&racing_fixes);
                }
                let sorted = |store: &Store| {
                    let mut fields = store.hashes[key].clone();
                    fields.sort_by(|a, b| a.field.cmp(&b.field));
                    fields
                };
                assert_eq!(sorted(&racing), sorted(&serial), "{orders:?}, fix first: {fix_first}");
            }
        }
    }

    #[test]
    fn redelivered_batches_emit_and_change_nothing() {
        let settings = config();
        let mut store = Store::default();
        let pickup = offset(CENTRE, 90.0, 2_000.0);
        let dropoff = offset(CENTRE, 0.0, 4_000.0);
        let orders = batch(
            Vec::new(),
            vec![
                order(OrderKind::Assigned, "d1", "o1", 1_000, pickup, dropoff),
                order(OrderKind::PickedUp, "d1", "o1", 20_000, pickup, dropoff),
            ],
        );
        store.run(&settings, &orders);
        // Through the hub towards the pickup, jittering at the pickup, then
        // (after the pickup time) towards the drop-off.
        let path = [
            (2_000, CENTRE),
            (3_000, offset(pickup, 270.0, 450.0)),
            (4_000, offset(pickup, 270.0, 520.0)),
            (5_000, offset(pickup, 270.0, 40.0)),
            (6_000, offset(pickup, 270.0, 60.0)),
            (7_000, offset(pickup, 270.0, 40.0)),
            (21_000, offset(dropoff, 180.0, 30.0)),
        ];
        let fixes = batch(
            path.iter().map(|(at, point)| fix("d1", *at, *point)).collect(),
            Vec::new(),
        );
        let first = store.run(&settings, &fixes);
        assert_eq!(
            kinds(&first.notifications),
            [
                Kind::Entered,
                Kind::Exited,
                Kind::Near,
                Kind::Arrived,
                Kind::Near,
                Kind::Arrived
            ]
        );
        assert_eq!(
            first.notifications[5].subject,
            Subject::Order {
                order_id: "o1".into(),
                stop: Stop::Dropoff
            }
        );
        let again = store.run(&settings, &fixes);
        assert_eq!(again, Outcome::default());
        assert_eq!(store.run(&settings, &orders), Outcome::default());
    }

    #[test]
    fn drivers_without_trips_get_only_static_fence_events() {
        let settings = config();
        let mut store = Store::default();
        let orders = batch(
            Vec::new(),
            vec![order(OrderKind::Assigned, "d1", "o1", 1_000, CENTRE, CENTRE)],
        );
        store.run(&settings, &orders);
        let fixes = batch(vec![fix("d1", 2_000, CENTRE), fix("d2", 2_000, CENTRE)], Vec::new());
        let outcome = store.run(&settings, &fixes);
        let of = |driver: &str| {
            outcome
                .notifications
                .iter()
                .filter(|notification| notification.driver_id == driver)
                .map(|notification| notification.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(of("d1"), [Kind::Entered, Kind::Near, Kind::Arrived]);
        assert_eq!(of("d2"), [Kind::Entered]);
    }

    #[test]
    fn every_notification_is_also_published_for_the_live_map() {
        let settings = config();
        let mut store = Store::default();
        let fixes = batch(vec![fix("d1", 2_000, CENTRE)], Vec::new());
        let outcome = store.run(&settings, &fixes);
        assert_eq!(kinds(&outcome.notifications), [Kind::Entered]);
        let json = outcome.notifications[0].to_json();
        let plan = outcome.into_plan("notes", &settings.live_channel());
        assert_eq!(plan.messages.len(), 1);
        let published: Vec<(&str, &str)> = plan
            .writes
            .iter()
            .filter_map(|write| match write {
                WriteOp::Publish(publish) => Some((publish.channel.as_str(), publish.message.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(published, [("t:live:notifications", json.as_str())]);
        assert!(
            matches!(plan.writes.first(), Some(WriteOp::HashSet(_))),
            "the state write comes first, in the same kv write"
        );
    }
}
