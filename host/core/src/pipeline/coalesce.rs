//! Latest-wins coalescing (`coalesce = "latest-per-key"`): of the fixes of
//! one driver in a batch, only the newest reaches the plugins. A partition
//! that keeps up has batches of about one fix per driver, so nothing is left
//! out; one that lags fills its batches with many fixes per driver and
//! catches up by handing on only where each driver is now.

use std::collections::HashMap;

use crate::runtime::Event;

/// Which of `events` are superseded (flags in their positions, as
/// `Batch::drop_records` takes them): all but, for each driver, the fix
/// with the newest event time, of equal times the one with the highest
/// offset (the last written).
pub fn superseded(events: &[Event]) -> Vec<bool> {
    let mut newest: HashMap<&str, usize> = HashMap::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        newest
            .entry(event.driver_id.as_str())
            .and_modify(|kept| {
                let current = &events[*kept];
                if (event.timestamp_ms, event.offset) > (current.timestamp_ms, current.offset) {
                    *kept = index;
                }
            })
            .or_insert(index);
    }
    let mut superseded = vec![true; events.len()];
    for index in newest.into_values() {
        superseded[index] = false;
    }
    superseded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(driver: &str, timestamp_ms: i64, offset: i64) -> Event {
        Event {
            driver_id: driver.into(),
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

    #[test]
    fn each_driver_keeps_its_newest_fix_by_event_time_then_offset() {
        let events = [
            fix("a", 1_000, 0),
            fix("b", 5_000, 1),
            fix("a", 3_000, 2),
            // Older than a's fix at offset 2, though written later.
            fix("a", 2_000, 3),
            fix("b", 5_000, 4),
            fix("c", 1_000, 5),
        ];
        assert_eq!(superseded(&events), [true, true, false, true, false, false]);
    }

    #[test]
    fn a_batch_of_distinct_drivers_is_kept_whole() {
        let events = [fix("a", 3, 0), fix("b", 2, 1), fix("c", 1, 2)];
        assert_eq!(superseded(&events), [false, false, false]);
        assert!(superseded(&[]).is_empty());
    }
}
