//! test-hostile-fs: reads `/etc/passwd` in every batch. The host links
//! WASI's filesystem with no preopened directory: the read must fail.

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};

struct ReadsFiles;

impl Guest for ReadsFiles {
    fn init(_config: Vec<(String, String)>) -> Result<(), String> {
        Ok(())
    }

    fn process_batch(_batch: Batch) -> Result<BatchOutcome, PluginError> {
        let secrets = std::fs::read_to_string("/etc/passwd").map_err(|error| PluginError::fatal(error.to_string()))?;
        Err(PluginError::fatal(secrets))
    }
}

fleethost_plugin_sdk::export_plugin!(ReadsFiles);
