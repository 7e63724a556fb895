//! eta: remaining distance, smoothed speed and ETA of every active trip.

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn init(_config: Vec<(String, String)>) -> Result<(), String> {
        Err("not written yet".into())
    }

    fn process_batch(_batch: Batch) -> Result<BatchOutcome, PluginError> {
        Err(PluginError::fatal("not written yet"))
    }
}

fleethost_plugin_sdk::export_plugin!(Plugin);
