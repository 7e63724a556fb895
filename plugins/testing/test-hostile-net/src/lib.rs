//! test-hostile-net: opens a TCP connection in every batch. The host links
//! WASI's sockets with the network off: the connect must fail.

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};

struct OpensSockets;

impl Guest for OpensSockets {
    fn init(_config: Vec<(String, String)>) -> Result<(), String> {
        Ok(())
    }

    fn process_batch(_batch: Batch) -> Result<BatchOutcome, PluginError> {
        let connection =
            std::net::TcpStream::connect("127.0.0.1:6379").map_err(|error| PluginError::fatal(error.to_string()))?;
        drop(connection);
        Ok(BatchOutcome { rejected: Vec::new() })
    }
}

fleethost_plugin_sdk::export_plugin!(OpensSockets);
