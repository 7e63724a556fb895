//! Resource limits of one instance: linear memory and table growth beyond the
//! plugin's caps trap, and the limiter remembers which cap was hit so the
//! failure is reported as `memory` rather than as a generic trap. It also
//! counts the linear memory its instance holds into the plugin version's
//! total, which `GET /metrics` reports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// The linear memory of every live instance of the plugin version.
    total_memory: Arc<AtomicU64>,
    /// This instance's share of `total_memory`, taken back when it is dropped.
    own_memory: u64,
    /// The last growth counted, taken back if wasmtime then fails to grow.
    last_growth: u64,
}

impl InstanceLimiter {
    /// A limiter allowing `memory_bytes` of linear memory in total, counting
    /// the instance's memory into `total_memory` while it lives.
    pub fn new(memory_bytes: usize, total_memory: Arc<AtomicU64>) -> Self {
        Self {
            memory_bytes,
            table_elements: MAX_TABLE_ELEMENTS,
            exceeded: None,
            total_memory,
            own_memory: 0,
            last_growth: 0,
        }
    }

    /// Which cap the last failed call ran into, if any; cleared by the call.
    pub fn take_exceeded(&mut self) -> Option<String> {
        self.exceeded.take()
    }
}

impl ResourceLimiter for InstanceLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
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
        // Also called for a memory's initial size (current 0). Past the
        // memory's own maximum the growth will fail (and `memory_grow_failed`
        // follow): nothing to count.
        self.last_growth = match maximum {
            Some(maximum) if desired > maximum => 0,
            _ => desired.saturating_sub(current) as u64,
        };
        self.own_memory += self.last_growth;
        self.total_memory.fetch_add(self.last_growth, Ordering::Relaxed);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.own_memory -= self.last_growth;
        self.total_memory.fetch_sub(self.last_growth, Ordering::Relaxed);
        self.last_growth = 0;
        // As wasmtime's default: the guest's `memory.grow` returns -1.
        tracing::debug!(error = %format!("{error:#}"), "a plugin's memory could not grow");
        Ok(())
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

impl Drop for InstanceLimiter {
    fn drop(&mut self) {
        // The store, and with it the instance's memory, goes with the limiter.
        self.total_memory.fetch_sub(self.own_memory, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn an_instance_s_memory_counts_into_the_total_while_it_lives() {
        let total = Arc::new(AtomicU64::new(0));
        let mut first = InstanceLimiter::new(8 * MIB, total.clone());
        let mut second = InstanceLimiter::new(8 * MIB, total.clone());
        assert!(first.memory_growing(0, MIB, None).expect("initial size"));
        assert!(first.memory_growing(MIB, 3 * MIB, None).expect("grows"));
        assert!(second.memory_growing(0, 2 * MIB, Some(4 * MIB)).expect("initial size"));
        assert_eq!(total.load(Ordering::Relaxed), 5 * MIB as u64);

        // Refused by the cap, past the memory's maximum, or failed: not counted.
        assert!(first.memory_growing(3 * MIB, 9 * MIB, None).is_err());
        assert!(
            second
                .memory_growing(2 * MIB, 5 * MIB, Some(4 * MIB))
                .expect("no effect")
        );
        second
            .memory_grow_failed(wasmtime::Error::msg("past the maximum"))
            .expect("the guest sees -1");
        assert!(second.memory_growing(2 * MIB, 3 * MIB, Some(4 * MIB)).expect("grows"));
        second
            .memory_grow_failed(wasmtime::Error::msg("mmap failed"))
            .expect("the guest sees -1");
        assert_eq!(total.load(Ordering::Relaxed), 5 * MIB as u64);

        drop(first);
        assert_eq!(total.load(Ordering::Relaxed), 2 * MIB as u64);
        drop(second);
        assert_eq!(total.load(Ordering::Relaxed), 0);
    }
}
