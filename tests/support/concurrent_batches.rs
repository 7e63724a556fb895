//! Driving two plugin instances at once, as a fix partition's worker and an
//! order partition's worker do for the same drivers, and reading back the
//! per-driver hashes they share: for the tests proving that neither batch kind
//! undoes the other's update (`tests/eta_concurrency.rs`,
//! `tests/fare_concurrency.rs`).

use std::collections::HashMap;
use std::sync::Barrier;

use fleethost_core::runtime::{Batch, Event, OrderEvent, PluginInstance};

/// One fix per driver, `(driver id, latitude, longitude, event time)`, as
/// the batch of `round` on partition 0 of topic `fixes` (offset = round).
pub fn fix_batch(pipeline: &str, round: usize, fixes: impl Iterator<Item = (String, f64, f64, i64)>) -> Batch {
    Batch {
        pipeline: pipeline.into(),
        topic: "fixes".into(),
        partition: 0,
        events: fixes
            .map(|(driver_id, latitude, longitude, timestamp_ms)| Event {
                driver_id,
                latitude,
                longitude,
                timestamp_ms,
                region: None,
                order_id: None,
                speed: None,
                heading: None,
                offset: round as i64,
            })
            .collect(),
        orders: Vec::new(),
    }
}

/// `orders` as a batch of partition 0 of topic `order-events`.
pub fn order_batch(pipeline: &str, orders: impl Iterator<Item = OrderEvent>) -> Batch {
    Batch {
        pipeline: pipeline.into(),
        topic: "order-events".into(),
        partition: 0,
        events: Vec::new(),
        orders: orders.collect(),
    }
}

/// Runs `fixes` on one instance and `orders` on the other at the same time
/// (both start together, so that their reads and writes overlap), and panics
/// naming the batch kind when either fails.
pub fn run_concurrently(
    fix_instance: &mut PluginInstance,
    fixes: &Batch,
    order_instance: &mut PluginInstance,
    orders: &Batch,
) {
    let start = Barrier::new(2);
    std::thread::scope(|scope| {
        let fix_run = scope.spawn(|| {
            start.wait();
            fix_instance.process(fixes)
        });
        let order_run = scope.spawn(|| {
            start.wait();
            order_instance.process(orders)
        });
        fix_run.join().expect("fix thread").expect("fix batch");
        order_run.join().expect("order thread").expect("order batch");
    });
}

/// `HGETALL` of every key, in one pipeline, in the order given.
pub fn hashes(redis: &mut redis::Connection, keys: &[String]) -> Vec<HashMap<String, String>> {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("HGETALL").arg(key);
    }
    pipe.query(redis).expect("HGETALL of every key")
}

/// The values of a hash's record field `record` (`name=value;…`, see
/// `plugins/record`); empty when the hash has no such field.
pub fn record_values(hash: &HashMap<String, String>, record: &str) -> HashMap<String, String> {
    hash.get(record)
        .map(|text| {
            fleethost_record::decode(text)
                .map(|(name, value)| (name.to_string(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}
