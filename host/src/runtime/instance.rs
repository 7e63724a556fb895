//! One live plugin instance: a `Store` and the bindings of its exports.

use wasmtime::Store;

use super::bindings::Plugin;
use super::bindings::fleethost::plugin::types::{Batch, BatchOutcome, PluginError};
use super::host_state::HostState;
use super::plugin::deadline_ticks;

/// Why a `process-batch` call did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error for the whole batch.
    #[error("plugin error: {}", .0.message)]
    Plugin(PluginError),
    /// The call ran past the plugin's `batch_timeout_ms` and was interrupted.
    #[error("timed out after {limit_ms} ms")]
    Timeout { limit_ms: u64 },
    /// The guest trapped (a panic, an out-of-bounds access, a memory limit...).
    #[error("trapped: {0}")]
    Trap(String),
}

impl CallError {
    /// Short name of the failure kind, for dead-letter headers and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Plugin(_) => "plugin-error",
            CallError::Timeout { .. } => "timeout",
            CallError::Trap(_) => "trap",
        }
    }

    /// Whether the instance is unusable afterwards (a trapped component
    /// instance cannot be entered again) and must be replaced.
    pub fn poisons_instance(&self) -> bool {
        !matches!(self, CallError::Plugin(_))
    }

    /// Whether the plugin said a backend it needs is unavailable: the batch is
    /// retried until the backend is back, without counting against `retries`.
    pub fn waits_for_backend(&self) -> bool {
        matches!(self, CallError::Plugin(error) if error.retryable)
    }

    /// Whether trying the batch again can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Plugin(error) => error.retryable,
            CallError::Timeout { .. } | CallError::Trap(_) => true,
        }
    }
}

/// A plugin instance owned by one partition worker; calls are blocking and run
/// on a blocking thread.
pub struct PluginInstance {
    // Behind a mutex only to make the instance `Sync` (WASI's context is not),
    // so a worker holding it can be borrowed across awaits; calls take
    // `&mut self` and never lock.
    store: std::sync::Mutex<Store<HostState>>,
    bindings: Plugin,
    label: String,
    batch_timeout_ms: u64,
}

impl PluginInstance {
    pub(super) fn new(
        store: Store<HostState>,
        bindings: Plugin,
        label: String,
        batch_timeout_ms: u64,
    ) -> Self {
        Self {
            store: std::sync::Mutex::new(store),
            bindings,
            label,
            batch_timeout_ms,
        }
    }

    /// `name@version` of the plugin this instance runs.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Calls `process-batch` with the plugin's time limit.
    pub fn process(&mut self, batch: &Batch) -> Result<BatchOutcome, CallError> {
        let store = self
            .store
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.set_epoch_deadline(deadline_ticks(self.batch_timeout_ms));
        match self.bindings.call_process_batch(&mut *store, batch) {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(error)) => Err(CallError::Plugin(error)),
            Err(error) => match error.downcast_ref::<wasmtime::Trap>() {
                Some(wasmtime::Trap::Interrupt) => Err(CallError::Timeout {
                    limit_ms: self.batch_timeout_ms,
                }),
                _ => Err(CallError::Trap(format!("{error:#}"))),
            },
        }
    }
}
