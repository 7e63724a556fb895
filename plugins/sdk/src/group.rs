//! A batch's records, split per driver.
//!
//! Plugins that keep per-driver state handle a batch driver by driver: one
//! state read, the driver's records in order, one state write. The drivers
//! come sorted by id (a `BTreeMap`), so that the kv keys, the writes and the
//! messages of a batch come in the same order every time it is processed.

use std::collections::BTreeMap;

use crate::{Event, OrderEvent, inline_str};

/// The order events per driver, each driver's in batch (offset) order: the
/// order the steps of a trip happened in.
pub fn orders_by_driver(orders: &[OrderEvent]) -> BTreeMap<&str, Vec<&OrderEvent>> {
    let mut by_driver: Vec<&OrderEvent> = orders.iter().collect();
    // Stable: each driver's orders stay in batch order.
    by_driver.sort_by(|a, b| inline_str::compare(&a.driver_id, &b.driver_id));
    group_sorted(by_driver, |order| order.driver_id.as_str(), |order| order)
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
    group_sorted(in_driver_order(events), |event| event.driver_id.as_str(), convert)
}

/// Each driver's newest fix (the latest event time; on equal times the later
/// in the batch, as Redis would keep it applying them in order), drivers in
/// id order: what a plugin that keeps only positions writes.
pub fn newest_fixes(events: &[Event]) -> Vec<&Event> {
    let mut newest: Vec<&Event> = Vec::with_capacity(events.len());
    for event in in_driver_order(events) {
        match newest.last_mut() {
            Some(current) if inline_str::equal(&current.driver_id, &event.driver_id) => *current = event,
            _ => newest.push(event),
        }
    }
    newest
}

/// The fixes sorted by driver, then event time; stable, so batch order on
/// equal times. One sort instead of a map searched per fix.
fn in_driver_order(events: &[Event]) -> Vec<&Event> {
    let mut by_driver: Vec<&Event> = events.iter().collect();
    by_driver.sort_by(|a, b| inline_str::compare(&a.driver_id, &b.driver_id).then(a.timestamp_ms.cmp(&b.timestamp_ms)));
    by_driver
}

/// The runs of records of one driver in `sorted` (sorted by driver), each
/// record turned by `convert`. The map is built from keys already sorted and
/// distinct: one comparison per driver instead of a search per record.
fn group_sorted<'a, R: Copy, T>(
    sorted: Vec<R>,
    driver_id: impl Fn(R) -> &'a str,
    convert: impl Fn(R) -> T,
) -> BTreeMap<&'a str, Vec<T>> {
    let mut groups: Vec<(&'a str, Vec<T>)> = Vec::new();
    for record in sorted {
        let id = driver_id(record);
        match groups.last_mut() {
            Some((current, records)) if inline_str::equal(current, id) => records.push(convert(record)),
            _ => groups.push((id, vec![convert(record)])),
        }
    }
    groups.into_iter().collect()
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
        let many: Vec<OrderEvent> = ["d2", "d10", "d1", "d10"]
            .iter()
            .enumerate()
            .map(|(offset, driver)| order(driver, OrderKind::Assigned, offset as i64))
            .collect();
        let grouped: Vec<(&str, Vec<i64>)> = orders_by_driver(&many)
            .into_iter()
            .map(|(driver, orders)| (driver, orders.iter().map(|order| order.offset).collect()))
            .collect();
        assert_eq!(grouped, [("d1", vec![2]), ("d10", vec![1, 3]), ("d2", vec![0])]);
        let offsets: Vec<i64> = drivers["d2"].iter().map(|order| order.offset).collect();
        assert_eq!(offsets, [0, 2]);
    }
}
