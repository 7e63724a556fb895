//! The trip a driver is on, built from order events and kept in a kv hash.
//!
//! ETA, fare and geofence plugins all need to know what a driver is doing:
//! heading to a pickup, carrying an order to its drop-off, or free. Each keeps
//! its own copy of the trip (in its own key prefix, next to its own fields) so
//! that pipelines stay independent; this module is the one definition of how
//! order events move a trip along and how a trip is stored.
//!
//! Order events and location fixes arrive on different topics, so their
//! batches interleave only roughly; a trip therefore keeps the event time of
//! each step, and fixes are judged by their own event time against it.

use crate::kv::FieldValue;
use crate::record::{self, Decimal, Values, Writer};
use crate::{OrderEvent, OrderKind, Point};

/// Where a trip stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Assigned; the driver is on the way to the pickup point.
    ToPickup,
    /// Picked up; the driver is on the way to the drop-off point.
    ToDropoff,
    /// Handed over at the drop-off point.
    Delivered,
    /// Cancelled before delivery.
    Cancelled,
}

impl Phase {
    /// The phase as stored and published (`to_pickup`, `to_dropoff`,
    /// `delivered`, `cancelled`): one spelling for every plugin's hashes and
    /// messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::ToPickup => "to_pickup",
            Phase::ToDropoff => "to_dropoff",
            Phase::Delivered => "delivered",
            Phase::Cancelled => "cancelled",
        }
    }

    /// Parses a name written by [`Phase::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "to_pickup" => Phase::ToPickup,
            "to_dropoff" => Phase::ToDropoff,
            "delivered" => Phase::Delivered,
            "cancelled" => Phase::Cancelled,
            _ => return None,
        })
    }

    /// Whether the driver is still working on the order.
    pub fn is_active(self) -> bool {
        matches!(self, Phase::ToPickup | Phase::ToDropoff)
    }
}

/// The hash field a trip is stored in (see [`Trip::to_fields`]).
pub const RECORD: &str = "trip";

/// One driver's current (or last) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    pub order_id: String,
    pub driver_id: String,
    pub phase: Phase,
    pub pickup: Point,
    pub dropoff: Point,
    /// Event time of the assignment.
    pub assigned_ms: i64,
    /// Event time of the pickup, once picked up.
    pub picked_up_ms: Option<i64>,
    /// Event time of delivery or cancellation, once ended.
    pub ended_ms: Option<i64>,
}

/// What an order event did to a driver's trip.
#[derive(Debug, Clone, PartialEq)]
pub enum TripChange {
    /// A new trip started (replacing any earlier one of the driver).
    Started(Trip),
    /// The trip moved to a later phase.
    Advanced(Trip),
    /// The event does not apply: an order the driver is not on, a step that
    /// already happened (a redelivered event), or a step out of order.
    Ignored,
}

impl Trip {
    /// Applies `event` to the driver's current trip, if any.
    pub fn apply(current: Option<&Trip>, event: &OrderEvent) -> TripChange {
        if let OrderKind::Assigned = event.kind {
            let (Some(pickup), Some(dropoff)) = (event.pickup, event.dropoff) else {
                return TripChange::Ignored;
            };
            if current.is_some_and(|trip| trip.order_id == event.order_id) {
                return TripChange::Ignored;
            }
            return TripChange::Started(Trip {
                order_id: event.order_id.clone(),
                driver_id: event.driver_id.clone(),
                phase: Phase::ToPickup,
                pickup,
                dropoff,
                assigned_ms: event.timestamp_ms,
                picked_up_ms: None,
                ended_ms: None,
            });
        }
        let Some(trip) = current.filter(|trip| trip.order_id == event.order_id) else {
            return TripChange::Ignored;
        };
        let mut next = trip.clone();
        match (event.kind, trip.phase) {
            (OrderKind::PickedUp, Phase::ToPickup) => {
                next.phase = Phase::ToDropoff;
                next.picked_up_ms = Some(event.timestamp_ms);
            }
            (OrderKind::Delivered, Phase::ToDropoff | Phase::ToPickup) => {
                next.phase = Phase::Delivered;
                next.picked_up_ms.get_or_insert(event.timestamp_ms);
                next.ended_ms = Some(event.timestamp_ms);
            }
            (OrderKind::Cancelled, Phase::ToPickup | Phase::ToDropoff) => {
                next.phase = Phase::Cancelled;
                next.ended_ms = Some(event.timestamp_ms);
            }
            _ => return TripChange::Ignored,
        }
        TripChange::Advanced(next)
    }

    /// The point the driver is heading to, while the trip is active.
    pub fn target(&self) -> Option<Point> {
        match self.phase {
            Phase::ToPickup => Some(self.pickup),
            Phase::ToDropoff => Some(self.dropoff),
            Phase::Delivered | Phase::Cancelled => None,
        }
    }

    /// The trip as hash fields: one [`record`] field `trip`
    /// holding the `trip_*` values (`trip_order_id`, `trip_driver_id`,
    /// `trip_phase`, `trip_pickup_lat`/`_lng`, `trip_dropoff_lat`/`_lng`,
    /// `trip_assigned_ms`, `trip_picked_up_ms`, `trip_ended_ms`), so that a
    /// plugin keeps its own fields in the same hash, and order batches (which
    /// write only the trip) and fix batches (which write only the plugin's
    /// fields) never overwrite each other's. Unset step times are written
    /// empty: a new trip must not inherit the previous one's.
    pub fn to_fields(&self) -> Vec<FieldValue> {
        let mut writer = Writer::new();
        writer
            .value("trip_order_id", &self.order_id)
            .value("trip_driver_id", &self.driver_id)
            .value("trip_phase", self.phase.as_str())
            .value("trip_pickup_lat", Decimal(self.pickup.latitude))
            .value("trip_pickup_lng", Decimal(self.pickup.longitude))
            .value("trip_dropoff_lat", Decimal(self.dropoff.latitude))
            .value("trip_dropoff_lng", Decimal(self.dropoff.longitude))
            .value("trip_assigned_ms", self.assigned_ms)
            .optional("trip_picked_up_ms", self.picked_up_ms)
            .optional("trip_ended_ms", self.ended_ms);
        vec![record::field(RECORD, writer)]
    }

    /// Reads a trip back from its hash: the `trip` record, or the `trip_*`
    /// fields of the one-field-per-value layout of earlier versions; `None`
    /// when the hash holds no (complete) trip.
    pub fn from_fields(fields: &[FieldValue]) -> Option<Trip> {
        Self::from_values(&Values::of(fields, &[RECORD]))
    }

    /// Reads a trip from a hash's values (a plugin that reads its own record
    /// of the same hash unpacks both at once, with `RECORD` among the
    /// records of [`Values::of`]).
    pub fn from_values(values: &Values<'_>) -> Option<Trip> {
        Some(Trip {
            order_id: values.text("trip_order_id")?.to_string(),
            driver_id: values.text("trip_driver_id")?.to_string(),
            phase: Phase::parse(values.text("trip_phase")?)?,
            pickup: Point {
                latitude: values.parse("trip_pickup_lat")?,
                longitude: values.parse("trip_pickup_lng")?,
            },
            dropoff: Point {
                latitude: values.parse("trip_dropoff_lat")?,
                longitude: values.parse("trip_dropoff_lng")?,
            },
            assigned_ms: values.parse("trip_assigned_ms")?,
            picked_up_ms: values.parse("trip_picked_up_ms"),
            ended_ms: values.parse("trip_ended_ms"),
        })
    }
}

/// The value of a plugin's own hash field, parsed; `None` when absent or
/// malformed. For a hash of loose fields; values kept in a record are read
/// with [`record::Values`].
pub fn field<T: std::str::FromStr>(fields: &[FieldValue], name: &str) -> Option<T> {
    fields
        .iter()
        .find(|field| field.field == name)
        .and_then(|field| field.value.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: OrderKind, order: &str, at: i64) -> OrderEvent {
        let point = |latitude, longitude| Some(Point { latitude, longitude });
        OrderEvent {
            order_id: order.into(),
            driver_id: "d1".into(),
            kind,
            pickup: point(12.9, 77.6),
            dropoff: point(12.95, 77.65),
            timestamp_ms: at,
            offset: 0,
        }
    }

    fn started(event: &OrderEvent) -> Trip {
        match Trip::apply(None, event) {
            TripChange::Started(trip) => trip,
            other => panic!("expected a new trip, got {other:?}"),
        }
    }

    #[test]
    fn a_trip_goes_through_its_lifecycle() {
        let trip = started(&event(OrderKind::Assigned, "o1", 1_000));
        assert_eq!(trip.phase, Phase::ToPickup);
        assert_eq!(trip.target(), Some(trip.pickup));
        let TripChange::Advanced(trip) = Trip::apply(Some(&trip), &event(OrderKind::PickedUp, "o1", 2_000)) else {
            panic!("pickup should advance the trip");
        };
        assert_eq!((trip.phase, trip.picked_up_ms), (Phase::ToDropoff, Some(2_000)));
        assert_eq!(trip.target(), Some(trip.dropoff));
        let TripChange::Advanced(trip) = Trip::apply(Some(&trip), &event(OrderKind::Delivered, "o1", 3_000)) else {
            panic!("delivery should advance the trip");
        };
        assert_eq!(
            (trip.phase, trip.ended_ms, trip.target()),
            (Phase::Delivered, Some(3_000), None)
        );
    }

    #[test]
    fn redelivered_and_foreign_events_are_ignored() {
        let trip = started(&event(OrderKind::Assigned, "o1", 1_000));
        assert_eq!(
            Trip::apply(Some(&trip), &event(OrderKind::Assigned, "o1", 1_000)),
            TripChange::Ignored
        );
        assert_eq!(
            Trip::apply(Some(&trip), &event(OrderKind::PickedUp, "o2", 2_000)),
            TripChange::Ignored
        );
        assert_eq!(
            Trip::apply(None, &event(OrderKind::Delivered, "o1", 2_000)),
            TripChange::Ignored
        );
        let TripChange::Advanced(cancelled) = Trip::apply(Some(&trip), &event(OrderKind::Cancelled, "o1", 2_000))
        else {
            panic!("cancel should end the trip");
        };
        assert_eq!(
            Trip::apply(Some(&cancelled), &event(OrderKind::PickedUp, "o1", 3_000)),
            TripChange::Ignored
        );
    }

    #[test]
    fn a_new_assignment_replaces_the_old_trip() {
        let trip = started(&event(OrderKind::Assigned, "o1", 1_000));
        let TripChange::Started(next) = Trip::apply(Some(&trip), &event(OrderKind::Assigned, "o2", 5_000)) else {
            panic!("a new order should start a new trip");
        };
        assert_eq!(next.order_id, "o2");
    }

    #[test]
    fn phase_names_round_trip() {
        for phase in [Phase::ToPickup, Phase::ToDropoff, Phase::Delivered, Phase::Cancelled] {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
        }
        assert_eq!(Phase::parse("parked"), None);
    }

    #[test]
    fn a_new_trip_clears_the_old_step_times() {
        let assigned = started(&event(OrderKind::Assigned, "o1", 1_000));
        let TripChange::Advanced(old) = Trip::apply(Some(&assigned), &event(OrderKind::Delivered, "o1", 3_000)) else {
            panic!("delivery should end the trip");
        };
        let TripChange::Started(new) = Trip::apply(Some(&old), &event(OrderKind::Assigned, "o2", 5_000)) else {
            panic!("a new order should start a new trip");
        };
        // The hash after both writes: the second overwrites the first field by field.
        let mut hash = old.to_fields();
        for field in new.to_fields() {
            if let Some(stored) = hash.iter_mut().find(|stored| stored.field == field.field) {
                *stored = field;
            }
        }
        assert_eq!(Trip::from_fields(&hash), Some(new));
    }

    #[test]
    fn fields_round_trip() {
        let mut trip = started(&event(OrderKind::Assigned, "o1", 1_000));
        assert_eq!(Trip::from_fields(&trip.to_fields()), Some(trip.clone()));
        trip.picked_up_ms = Some(2_000);
        trip.phase = Phase::ToDropoff;
        let mut fields = trip.to_fields();
        fields.push(FieldValue::new("fare_distance_m", 12.5));
        assert_eq!(Trip::from_fields(&fields), Some(trip));
        assert_eq!(field::<f64>(&fields, "fare_distance_m"), Some(12.5));
        assert_eq!(Trip::from_fields(&[]), None);
        // A new trip written over an old one's hash clears its step times.
        let fresh = started(&event(OrderKind::Assigned, "o2", 9_000));
        let mut hash: std::collections::BTreeMap<String, String> =
            fields.into_iter().map(|pair| (pair.field, pair.value)).collect();
        hash.extend(fresh.to_fields().into_iter().map(|pair| (pair.field, pair.value)));
        let merged: Vec<FieldValue> = hash
            .into_iter()
            .map(|(field, value)| FieldValue { field, value })
            .collect();
        assert_eq!(Trip::from_fields(&merged), Some(fresh));
    }

    #[test]
    fn a_trip_is_one_record_field_and_the_older_layout_still_reads() {
        let old = started(&event(OrderKind::Assigned, "o1", 1_000));
        let fields = old.to_fields();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field, RECORD);
        assert!(
            fields[0]
                .value
                .starts_with("trip_order_id=o1;trip_driver_id=d1;trip_phase=to_pickup;")
        );
        // A hash written by an earlier version: one field per value.
        let legacy = record::unpack(&fields, &[RECORD]);
        assert_eq!(Trip::from_fields(&legacy), Some(old.clone()));
        // The plugin's new version writes the next trip as a record next to
        // the stale fields: the record wins, unset step times included.
        let TripChange::Advanced(picked_up) = Trip::apply(Some(&old), &event(OrderKind::PickedUp, "o1", 2_000)) else {
            panic!("the pickup should advance the trip");
        };
        let mut stale = record::unpack(&picked_up.to_fields(), &[RECORD]);
        let fresh = started(&event(OrderKind::Assigned, "o2", 5_000));
        stale.extend(fresh.to_fields());
        assert_eq!(Trip::from_fields(&stale), Some(fresh.clone()));
        // Callers that unpacked the record already read the same trip.
        assert_eq!(Trip::from_fields(&record::unpack(&stale, &[RECORD])), Some(fresh));
    }
}
