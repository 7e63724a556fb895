//! live-location: keeps the newest position of every driver in Redis.
//!
//! For each batch it reduces the events to the newest fix per driver (by event
//! time), then writes all drivers in one `kv.write` call: a `driver:{id}` hash
//! with `lat`, `lng`, `ts_ms` and a member of the `drivers:geo` set. Each write
//! is an `upsert-newer` on `ts_ms`, so a late or redelivered older fix never
//! moves a driver back, even across batches, partitions and host restarts.
//!
//! Config keys: `key_prefix` (prepended to every key, default empty) and
//! `geo_key` (default `drivers:geo`).

use std::collections::HashMap;

use fleethost_plugin_sdk::kv::{self, FieldValue, GeoMember, UpsertNewerOp, WriteOp, WriteResult};
use fleethost_plugin_sdk::{Batch, BatchOutcome, Event, Guest, PluginConfig, PluginError, Slot, log};

struct LiveLocation;

/// Settings from the plugin's config map.
struct Settings {
    key_prefix: String,
    geo_key: String,
}

thread_local! {
    /// The settings `init` read, for every batch.
    static SETTINGS: Slot<Settings> = const { Slot::new() };
}

impl Guest for LiveLocation {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let config = PluginConfig::new(config);
        config.reject_unknown(&["key_prefix", "geo_key"])?;
        let key_prefix = config.string_or("key_prefix", "");
        let geo_key = format!("{key_prefix}{}", config.string_or("geo_key", "drivers:geo"));
        SETTINGS.with(|slot| slot.set(Settings { key_prefix, geo_key }));
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        SETTINGS.with(|slot| slot.with(|settings| process(settings, &batch)))?;
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

/// Writes the newest fix of every driver of the batch, in one `kv::write`.
fn process(settings: &Settings, batch: &Batch) -> Result<(), PluginError> {
    let newest = newest_per_driver(&batch.events);
    let ops: Vec<WriteOp> = newest.values().map(|event| upsert(settings, event)).collect();
    let results = kv::write(&ops)?;
    let moved = results
        .iter()
        .filter(|result| matches!(result, WriteResult::Applied(true)))
        .count();
    log::debug(&format!(
        "partition {}: {} events, {} drivers, {} moved",
        batch.partition,
        batch.events.len(),
        ops.len(),
        moved
    ));
    Ok(())
}

/// The newest event of each driver in the batch; on equal event time the later
/// offset wins, as it would in Redis when applied in order.
fn newest_per_driver(events: &[Event]) -> HashMap<&str, &Event> {
    let mut newest: HashMap<&str, &Event> = HashMap::with_capacity(events.len());
    for event in events {
        newest
            .entry(event.driver_id.as_str())
            .and_modify(|current| {
                if event.timestamp_ms >= current.timestamp_ms {
                    *current = event;
                }
            })
            .or_insert(event);
    }
    newest
}

/// The write of one driver's newest fix: an upsert on `ts_ms`, so that an
/// older fix never replaces a newer one.
fn upsert(settings: &Settings, event: &Event) -> WriteOp {
    WriteOp::UpsertNewer(UpsertNewerOp {
        key: format!("{}driver:{}", settings.key_prefix, event.driver_id),
        version_field: "ts_ms".to_string(),
        version: event.timestamp_ms,
        fields: vec![
            FieldValue::new("lat", event.latitude),
            FieldValue::new("lng", event.longitude),
            FieldValue::new("ts_ms", event.timestamp_ms),
        ],
        geo: Some(GeoMember {
            key: settings.geo_key.clone(),
            member: event.driver_id.clone(),
            longitude: event.longitude,
            latitude: event.latitude,
        }),
    })
}

fleethost_plugin_sdk::export_plugin!(LiveLocation);
