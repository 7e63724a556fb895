//! The driver's trip as this plugin keeps it: moved along by order events
//! (through the SDK's [`Trip::apply`]) and stored as the SDK's `trip` record
//! ([`Trip::to_fields`]) in the driver's geofence hash; and which order point a
//! fix is judged against.
//!
//! Order and location batches are processed by different workers, so a fix
//! is judged by its own event time against the trip's step times, not by the
//! trip's phase when the fix happens to be processed.

use fleethost_plugin_sdk::trip::{Trip, TripChange};
use fleethost_plugin_sdk::{OrderEvent, Point};

use crate::notification::Stop;

/// Applies one driver's order events (in offset order) to the trip; returns
/// the new trip when any event changed it.
///
/// Besides what [`Trip::apply`] ignores, an assignment older than the current
/// trip's is ignored too, so a redelivered old batch cannot bring back an
/// earlier order.
pub fn apply_order_events<'a>(current: Option<Trip>, events: impl IntoIterator<Item = &'a OrderEvent>) -> Option<Trip> {
    let mut trip = current;
    let mut changed = false;
    for event in events {
        match Trip::apply(trip.as_ref(), event) {
            TripChange::Started(next)
                if trip
                    .as_ref()
                    .is_some_and(|current| next.assigned_ms < current.assigned_ms) => {}
            TripChange::Started(next) | TripChange::Advanced(next) => {
                trip = Some(next);
                changed = true;
            }
            TripChange::Ignored => {}
        }
    }
    trip.filter(|_| changed)
}

/// The order point the driver was heading to at event time `at_ms`: the
/// pickup from the assignment until the pickup, the drop-off from then until
/// the trip ended; `None` before the assignment and after the end.
pub fn stop_at(trip: &Trip, at_ms: i64) -> Option<(Stop, Point)> {
    if at_ms < trip.assigned_ms || trip.ended_ms.is_some_and(|ended| at_ms >= ended) {
        return None;
    }
    match trip.picked_up_ms {
        Some(picked_up) if at_ms >= picked_up => Some((Stop::Dropoff, trip.dropoff)),
        _ => Some((Stop::Pickup, trip.pickup)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleethost_plugin_sdk::OrderKind;
    use fleethost_plugin_sdk::trip::Phase;

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

    #[test]
    fn fixes_are_judged_by_their_own_time() {
        let events = [
            event(OrderKind::Assigned, "o1", 1_000),
            event(OrderKind::PickedUp, "o1", 2_000),
            event(OrderKind::Delivered, "o1", 3_000),
        ];
        let trip = apply_order_events(None, &events).expect("the trip changed");
        assert_eq!(trip.phase, Phase::Delivered);
        assert_eq!(stop_at(&trip, 999), None);
        assert_eq!(stop_at(&trip, 1_000), Some((Stop::Pickup, trip.pickup)));
        assert_eq!(stop_at(&trip, 2_500), Some((Stop::Dropoff, trip.dropoff)));
        assert_eq!(stop_at(&trip, 3_000), None);
    }

    #[test]
    fn redelivered_and_older_events_change_nothing() {
        let first = [event(OrderKind::Assigned, "o1", 1_000)];
        let trip = apply_order_events(None, &first).expect("a new trip");
        assert_eq!(apply_order_events(Some(trip.clone()), &first), None);
        let second = [event(OrderKind::Assigned, "o2", 5_000)];
        let newer = apply_order_events(Some(trip), &second).expect("a newer trip");
        assert_eq!(apply_order_events(Some(newer), &first), None);
    }
}
