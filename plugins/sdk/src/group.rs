//! A batch's records, split per driver.
//!
//! Plugins that keep per-driver state handle a batch driver by driver: one
//! state read, the driver's records in order, one state write. The drivers
//! come sorted by id (a `BTreeMap`), so that the kv keys, the writes and the
//! messages of a batch come in the same order every time it is processed.

use std::collections::BTreeMap;

use crate::{Event, OrderEvent};

/// The order events per driver, each driver's in batch (offset) order: the
/// order the steps of a trip happened in.
pub fn orders_by_driver(orders: &[OrderEvent]) -> BTreeMap<&str, Vec<&OrderEvent>> {
    let mut drivers: BTreeMap<&str, Vec<&OrderEvent>> = BTreeMap::new();
    for order in orders {
        drivers.entry(order.driver_id.as_str()).or_default().push(order);
    }
    drivers
}

/// The location fixes per driver, each driver's in event-time order (batch
/// order on equal times): a sender may deliver fixes out of order, and
/// distances and speeds are only right between consecutive positions.
pub fn fixes_by_driver(events: &[Event]) -> BTreeMap<&str, Vec<&Event>> {
    fixes_by_driver_as(events, |event| event)
}

/// Like [`fixes_by_driver`], each fix turned by `convert` into what the
/// plugin works with, without a second map (which would cost wasm size).
pub fn fixes_by_driver_as<'a, T>(events: &'a [Event], convert: impl Fn(&'a Event) -> T) -> BTreeMap<&'a str, Vec<T>> {
    // One stable sort of the whole batch leaves every driver's fixes in
    // event-time order, and in batch order on equal times.
    let mut in_time_order: Vec<&Event> = events.iter().collect();
    in_time_order.sort_by_key(|event| event.timestamp_ms);
    let mut drivers: BTreeMap<&str, Vec<T>> = BTreeMap::new();
    for event in in_time_order {
        drivers
            .entry(event.driver_id.as_str())
            .or_default()
            .push(convert(event));
    }
    drivers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrderKind;

    fn fix(driver_id: &str, timestamp_ms: i64, offset: i64) -> Event {
        Event {
            driver_id: driver_id.into(),
            latitude: 12.9,
            longitude: 77.6,
            timestamp_ms,
            region: None,
            order_id: None,
            speed: None,
            heading: None,
            offset,
        }
    }

    fn order(driver_id: &str, kind: OrderKind, offset: i64) -> OrderEvent {
        OrderEvent {
            order_id: "o1".into(),
            driver_id: driver_id.into(),
            kind,
            pickup: None,
            dropoff: None,
            timestamp_ms: 0,
            offset,
        }
    }

    #[test]
    fn fixes_are_grouped_in_event_time_order() {
        let events = [fix("d2", 5, 0), fix("d1", 3, 1), fix("d2", 1, 2), fix("d2", 5, 3)];
        let drivers = fixes_by_driver(&events);
        assert_eq!(drivers.keys().copied().collect::<Vec<_>>(), ["d1", "d2"]);
        let offsets: Vec<i64> = drivers["d2"].iter().map(|event| event.offset).collect();
        assert_eq!(offsets, [2, 0, 3]);
        let times = fixes_by_driver_as(&events, |event| event.timestamp_ms);
        assert_eq!(times["d2"], [1, 5, 5]);
    }

    #[test]
    fn orders_keep_their_batch_order() {
        let orders = [
            order("d2", OrderKind::Delivered, 0),
            order("d1", OrderKind::Assigned, 1),
            order("d2", OrderKind::Assigned, 2),
        ];
        let drivers = orders_by_driver(&orders);
        assert_eq!(drivers.keys().copied().collect::<Vec<_>>(), ["d1", "d2"]);
        let offsets: Vec<i64> = drivers["d2"].iter().map(|order| order.offset).collect();
        assert_eq!(offsets, [0, 2]);
    }
}
