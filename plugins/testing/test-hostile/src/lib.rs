//! test-hostile: a plugin that misbehaves on purpose, for the sandbox tests.
//!
//! Config keys:
//! - `key_prefix` (required): where it records processed offsets, like
//!   test-recorder (`{key_prefix}seen:{topic}:{partition}` hashes);
//! - `mode`: `loop` (spins forever), `memory-bomb` (allocates until stopped),
//!   `trap` (panics), `huge-output` (rejects far more events than it got),
//!   `huge-error` (fails with a message of tens of MiB), `kv-outside` (writes
//!   a key outside `key_prefix`), `produce-outside` (publishes to a topic it
//!   is not granted), `publish-outside` (publishes a fake position on
//!   live-location's channel `live:driver:hijacked`), `sql-outside` (inserts into a system table it is not
//!   granted), `reject` (well-behaved: rejects the
//!   trigger driver's events one by one and processes the rest),
//!   `retryable-error` (fails the batch with an error marked retryable, as
//!   if a backend of its own were down), `unrepeatable` (well-behaved but
//!   for the trigger driver: reads the wall and monotonic clocks, a random
//!   number and its own kv key, writes them to
//!   `{key_prefix}unrepeatable:{topic}:{partition}`, and panics, naming the
//!   random number, on a batch holding the trigger driver: what a recording
//!   must capture for its replay to give the same answer);
//! - `trigger_driver`: misbehave only on batches holding this driver id
//!   (default: on every batch). Other batches are recorded normally.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fleethost_plugin_sdk::kv::{self, FieldValue, HashSetOp, PublishOp, SetOp, WriteOp};
use fleethost_plugin_sdk::{Batch, BatchOutcome, Event, Guest, PluginConfig, PluginError, Rejection, produce, sql};

struct Hostile;

#[derive(Clone)]
struct Settings {
    key_prefix: String,
    mode: String,
    trigger_driver: Option<String>,
}

thread_local! {
    static SETTINGS: RefCell<Option<Settings>> = const { RefCell::new(None) };
    static STARTED: RefCell<Option<Instant>> = const { RefCell::new(None) };
}

const MODES: [&str; 12] = [
    "loop",
    "memory-bomb",
    "trap",
    "huge-output",
    "huge-error",
    "kv-outside",
    "produce-outside",
    "publish-outside",
    "sql-outside",
    "reject",
    "retryable-error",
    "unrepeatable",
];

impl Guest for Hostile {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let config = PluginConfig::new(config);
        config.reject_unknown(&["key_prefix", "mode", "trigger_driver"])?;
        let key_prefix = config.string_or("key_prefix", "");
        let mode = config.string_or("mode", "");
        if key_prefix.is_empty() || !MODES.contains(&mode.as_str()) {
            return Err(format!("key_prefix is required and mode must be one of {MODES:?}"));
        }
        let trigger_driver = Some(config.string_or("trigger_driver", "")).filter(|driver| !driver.is_empty());
        STARTED.with(|started| *started.borrow_mut() = Some(Instant::now()));
        SETTINGS.with(|settings| {
            *settings.borrow_mut() = Some(Settings {
                key_prefix,
                mode,
                trigger_driver,
            })
        });
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        let settings = SETTINGS
            .with(|settings| settings.borrow().clone())
            .ok_or_else(|| PluginError::fatal("process-batch called before init"))?;
        let triggered = match &settings.trigger_driver {
            Some(driver) => batch.events.iter().any(|event| &event.driver_id == driver),
            None => true,
        };
        if settings.mode == "reject" {
            return reject_trigger_events(&settings, &batch);
        }
        if settings.mode == "unrepeatable" {
            return unrepeatable(&settings, &batch);
        }
        if triggered && let Some(answer) = misbehave(&settings, &batch)? {
            return Ok(answer);
        }
        record(&settings, &batch, |_| true)?;
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

/// Records the offsets of the events `keep` accepts, in one kv call.
fn record(settings: &Settings, batch: &Batch, keep: impl Fn(&Event) -> bool) -> Result<(), PluginError> {
    let fields: Vec<FieldValue> = batch
        .events
        .iter()
        .filter(|event| keep(event))
        .map(|event| FieldValue {
            field: event.offset.to_string(),
            value: event.driver_id.clone(),
        })
        .collect();
    if !fields.is_empty() {
        let key = format!("{}seen:{}:{}", settings.key_prefix, batch.topic, batch.partition);
        kv::write(&[WriteOp::HashSet(HashSetOp { key, fields })])?;
    }
    Ok(())
}

/// The `reject` mode: the trigger driver's events are refused one by one.
fn reject_trigger_events(settings: &Settings, batch: &Batch) -> Result<BatchOutcome, PluginError> {
    let is_trigger = |event: &Event| settings.trigger_driver.as_deref() == Some(event.driver_id.as_str());
    record(settings, batch, |event| !is_trigger(event))?;
    let rejected = batch
        .events
        .iter()
        .enumerate()
        .filter(|(_, event)| is_trigger(event))
        .map(|(index, event)| Rejection {
            index: index as u32,
            reason: format!("driver {} is suspended", event.driver_id),
        })
        .collect();
    Ok(BatchOutcome { rejected })
}

/// The `unrepeatable` mode: what it writes depends on the clocks, a random
/// number and a kv read; it panics on the trigger driver.
fn unrepeatable(settings: &Settings, batch: &Batch) -> Result<BatchOutcome, PluginError> {
    let wall_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let monotonic_ns = STARTED.with(|started| started.borrow().map_or(0, |started| started.elapsed().as_nanos()));
    let random = std::collections::hash_map::RandomState::new().hash_one(batch.events.len());
    let key = format!(
        "{}unrepeatable:{}:{}",
        settings.key_prefix, batch.topic, batch.partition
    );
    let previous = kv::get_many(std::slice::from_ref(&key))?
        .pop()
        .flatten()
        .unwrap_or_default();
    kv::write(&[WriteOp::Set(SetOp {
        key,
        value: format!("{wall_ns},{monotonic_ns},{random},{}", previous.len()),
        ttl_ms: None,
    })])?;
    if let Some(event) = batch
        .events
        .iter()
        .find(|event| settings.trigger_driver.as_deref() == Some(event.driver_id.as_str()))
    {
        panic!(
            "unrepeatable plugin: driver {} at offset {}, random {random}",
            event.driver_id, event.offset
        );
    }
    record(settings, batch, |_| true)?;
    Ok(BatchOutcome { rejected: Vec::new() })
}

/// Does what `mode` says. `Some(answer)` replaces the normal answer.
fn misbehave(settings: &Settings, batch: &Batch) -> Result<Option<BatchOutcome>, PluginError> {
    match settings.mode.as_str() {
        "loop" => {
            let mut counter: u64 = 0;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        "memory-bomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1024 * 1024]);
                std::hint::black_box(&hoard);
            }
        }
        "trap" => panic!("hostile plugin: refusing batch at offset {}", batch.events[0].offset),
        // Two million rejections for a batch of a few events: 24 MiB in guest
        // memory, far more once copied into host structures.
        "huge-output" => Ok(Some(BatchOutcome {
            rejected: (0..2_000_000)
                .map(|index| Rejection {
                    index,
                    reason: String::new(),
                })
                .collect(),
        })),
        "huge-error" => Err(PluginError::fatal("x".repeat(40 * 1024 * 1024))),
        // Claims to be waiting for something: it must not hold the partition.
        "retryable-error" => Err(PluginError::retryable(
            "hostile plugin: my backend is down, try again forever",
        )),
        "kv-outside" => {
            kv::write(&[WriteOp::Set(SetOp {
                key: "driver:hijacked".into(),
                value: "1".into(),
                ttl_ms: None,
            })])?;
            Ok(None)
        }
        "publish-outside" => {
            kv::write(&[WriteOp::Publish(PublishOp {
                channel: "live:driver:hijacked".into(),
                message: r#"{"type":"position","driver_id":"hijacked","lat":0,"lng":0,"ts_ms":0}"#.into(),
            })])?;
            Ok(None)
        }
        "produce-outside" => {
            produce::send(&[produce::Message::text("hijacked-topic", "x", "{}".into())])?;
            Ok(None)
        }
        "sql-outside" => {
            sql::insert(&[sql::InsertOp {
                table: "pg_catalog.pg_authid".into(),
                columns: vec![sql::ColumnData {
                    name: "rolname".into(),
                    values: sql::ColumnValues::Text(vec!["intruder".into()]),
                    nulls: Vec::new(),
                }],
                on_conflict: sql::OnConflict::Fail,
            }])?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

fleethost_plugin_sdk::export_plugin!(Hostile);
