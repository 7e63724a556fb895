//! bench-noop: accepts every batch and does nothing else. The wasm-crossing
//! benchmark (`cargo bench -p fleethost-native --bench wasm_crossing`) calls it, so
//! that a call's time is only what the sandbox costs: entering the instance,
//! copying the batch into its memory, and lifting the answer back.

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};

struct Noop;

impl Guest for Noop {
    fn init(_config: Vec<(String, String)>) -> Result<(), String> {
        Ok(())
    }

    fn process_batch(batch: Batch) -> Result<BatchOutcome, PluginError> {
        // Read every event once, as any real plugin would, so nothing about
        // the batch can be skipped.
        let checksum: f64 = batch.events.iter().map(|event| event.latitude + event.longitude).sum();
        std::hint::black_box(checksum);
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

fleethost_plugin_sdk::export_plugin!(Noop);
