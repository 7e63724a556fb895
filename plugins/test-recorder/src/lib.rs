//! test-recorder: a plugin for the integration tests. For every batch it writes
//! one hash per partition, `{key_prefix}seen:{topic}:{partition}`, with a field
//! per processed offset (value: the driver id), in one `kv.write` call. A test
//! then proves that every valid event was processed at least once.
//!
//! Config keys: `key_prefix` (required, so tests never share keys).

use std::cell::RefCell;

use fleethost_plugin_sdk::kv::{self, FieldValue, HashSetOp, WriteOp};
use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginConfig, PluginError};

struct Recorder;

thread_local! {
    static KEY_PREFIX: RefCell<Option<String>> = const { RefCell::new(None) };
}

impl Guest for Recorder {
    fn init(config: Vec<(String, String)>) -> Result<(), String> {
        let config = PluginConfig::new(config);
        config.reject_unknown(&["key_prefix"])?;
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
                value: event.driver_id.clone(),
            })
            .collect();
        let key = format!("{prefix}seen:{}:{}", batch.topic, batch.partition);
        kv::write(&[WriteOp::HashSet(HashSetOp { key, fields })])?;
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

fleethost_plugin_sdk::export_plugin!(Recorder);
