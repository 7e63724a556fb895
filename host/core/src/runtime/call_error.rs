//! How a `process-batch` call fails, and what the pipeline does about each
//! kind: retry, wait for a backend, replace the instance or dead-letter.

use super::PluginError;

/// Why a `process-batch` call did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error for the whole batch.
    #[error("plugin error: {}", .0.message)]
    Plugin(PluginError),
    /// The plugin returned an error after one of its capability calls found
    /// the backend unavailable (`reason`, as the host saw it): the host's own
    /// knowledge, never the plugin's claim (see `capabilities::outage`).
    #[error("backend unavailable: {reason} (the plugin answered: {})", .error.message)]
    Backend { reason: String, error: PluginError },
    /// The call ran past the plugin's `batch_timeout_ms` and was interrupted
    /// `elapsed_ms` after it started (the overshoot is at most one epoch tick
    /// plus scheduling delay).
    #[error("timed out: interrupted after {elapsed_ms} ms (limit {limit_ms} ms)")]
    Timeout { limit_ms: u64, elapsed_ms: u64 },
    /// The guest tried to grow its memory or tables beyond the caps.
    #[error("memory: {0}")]
    Memory(String),
    /// The guest trapped (a panic, an out-of-bounds access, `unreachable`...).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin's answer breaks the contract (too large, bad indices).
    #[error("invalid output: {0}")]
    InvalidOutput(String),
}

impl CallError {
    /// Short name of the failure kind, for dead-letter headers and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Plugin(_) => "plugin-error",
            CallError::Backend { .. } => "backend-unavailable",
            CallError::Timeout { .. } => "timeout",
            CallError::Memory(_) => "memory",
            CallError::Trap(_) => "trap",
            CallError::InvalidOutput(_) => "invalid-output",
        }
    }

    /// Whether the instance is unusable afterwards (a trapped component
    /// instance cannot be entered again) and must be replaced.
    pub fn poisons_instance(&self) -> bool {
        !matches!(self, CallError::Plugin(_) | CallError::Backend { .. })
    }

    /// Whether the host saw a backend the call needed unavailable: the batch
    /// waits for it, retried without counting against `retries`. A plugin's
    /// own error never waits, whatever it says.
    pub fn waits_for_backend(&self) -> bool {
        matches!(self, CallError::Backend { .. })
    }

    /// Whether trying the batch again can help: not for an answer that broke
    /// the contract, nor for a plugin error not marked retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Plugin(error) => error.retryable,
            CallError::Backend { .. } | CallError::Timeout { .. } | CallError::Memory(_) | CallError::Trap(_) => true,
            CallError::InvalidOutput(_) => false,
        }
    }
}
