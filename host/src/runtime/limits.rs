//! Resource limits of one instance: linear memory and table growth beyond the
//! plugin's caps trap, and the limiter remembers which cap was hit so the
//! failure is reported as `memory` rather than as a generic trap.

use wasmtime::ResourceLimiter;

/// Most table elements (function references) an instance may have. Rust
/// plugins use a few hundred; the cap only stops a guest growing tables to
/// eat host memory.
pub const MAX_TABLE_ELEMENTS: usize = 20_000;

/// The limiter installed on every plugin store.
#[derive(Debug)]
pub struct InstanceLimiter {
    memory_bytes: usize,
    table_elements: usize,
    exceeded: Option<String>,
}

impl InstanceLimiter {
    /// A limiter allowing `memory_bytes` of linear memory in total.
    pub fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            table_elements: MAX_TABLE_ELEMENTS,
            exceeded: None,
        }
    }

    /// Which cap the last failed call ran into, if any; cleared by the call.
    pub fn take_exceeded(&mut self) -> Option<String> {
        self.exceeded.take()
    }
}

impl ResourceLimiter for InstanceLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            let message = format!(
                "linear memory limit of {} MiB reached (at {} MiB, asked for {} MiB)",
                self.memory_bytes / (1024 * 1024),
                current / (1024 * 1024),
                desired.div_ceil(1024 * 1024)
            );
            self.exceeded = Some(message.clone());
            return Err(wasmtime::Error::msg(message));
        }
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            let message = format!(
                "table limit of {} elements reached (at {current}, asked for {desired})",
                self.table_elements
            );
            self.exceeded = Some(message.clone());
            return Err(wasmtime::Error::msg(message));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        // A component instantiates a handful of core modules (the plugin,
        // WASI adapter shims); more means something is wrong.
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}
