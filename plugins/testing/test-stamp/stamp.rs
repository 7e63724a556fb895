//! test-recorder, test-stamp-v1, test-stamp-v2: one source built as three
//! plugins for the integration tests. Each records every processed offset in
//! `{key_prefix}seen:{topic}:{partition}` (one `kv.write` per batch) with its
//! own crate name as the value: tests prove with it that no event was lost,
//! and the hot-reload tests tell which version processed which event. In
//! the same write it adds the batch's events to the counter
//! `{key_prefix}delivered:{topic}:{partition}`: how many deliveries it saw,
//! so that a test counts the duplicates a redelivery made (deliveries minus
//! distinct offsets), which the offsets alone hide.
//!
//! Config keys: `key_prefix` (required); `mode` is accepted and ignored, so
//! that a test can offer test-hostile under the same config as a bad version.

use std::cell::RefCell;

use fleethost_plugin_sdk::kv::{self, FieldValue, HashSetOp, IncrOp, WriteOp};
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginConfig, PluginError};

/// The version this build stamps into what it writes.
const STAMP: &str = env!("CARGO_PKG_NAME");

struct Stamp;

thread_local! {
    static KEY_PREFIX: RefCell<Option<String>> = const { RefCell::new(None) };
}

impl Guest for Stamp {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let config = PluginConfig::new(config);
        config.reject_unknown(&["key_prefix", "mode"])?;
        let prefix = config.string_or("key_prefix", "");
        if prefix.is_empty() {
            return Err("key_prefix is required".into());
        }
        KEY_PREFIX.with(|key_prefix| *key_prefix.borrow_mut() = Some(prefix));
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        let prefix = KEY_PREFIX
            .with(|key_prefix| key_prefix.borrow().clone())
            .ok_or_else(|| PluginError::fatal("process-batch called before init"))?;
        let fields = batch
            .events
            .iter()
            .map(|event| FieldValue {
                field: event.offset.to_string(),
                value: STAMP.into(),
            })
            .collect();
        let key = format!("{prefix}seen:{}:{}", batch.topic, batch.partition);
        let delivered = IncrOp {
            key: format!("{prefix}delivered:{}:{}", batch.topic, batch.partition),
            by: batch.events.len() as i64,
            ttl_ms: None,
        };
        kv::write(&[WriteOp::HashSet(HashSetOp { key, fields }), WriteOp::Incr(delivered)])?;
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

fleethost_plugin_sdk::export_plugin!(Stamp);
