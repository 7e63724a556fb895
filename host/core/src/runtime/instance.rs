//! One live plugin instance: a `Store` and the handles of its exports.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::Func;

use super::engine::deadline_ticks;
use super::host_state::HostState;
use super::outcome::{CheckedResult, OutputRefused, into_outcome, reset_text_budget};
use super::world::{WorldVersion, batch_v0_1};
use super::{Batch, BatchOutcome, CallError};
use crate::capabilities::outage;
use crate::metrics::usage::InstanceMeter;

/// A plugin instance owned by one partition worker; calls are blocking and run
/// on a blocking thread.
pub struct PluginInstance {
    kind: InstanceKind,
    meter: InstanceMeter,
}

/// What runs the plugin's code.
enum InstanceKind {
    /// A component instance in its own store: the sandbox.
    Wasm(WasmInstance),
    /// The plugin compiled into the process (the benchmark's registry
    /// only): no sandbox.
    Native(Box<dyn super::native::NativeInstance>),
}

/// A component instance and the handle of its `process-batch`.
struct WasmInstance {
    // Behind a mutex only to make the instance `Sync` (WASI's context is not),
    // so a worker holding it can be borrowed across awaits; calls take
    // `&mut self` and never lock.
    store: Mutex<Store<HostState>>,
    process_batch: Func,
    world: WorldVersion,
    batch_timeout_ms: u64,
}

impl PluginInstance {
    pub(super) fn new(
        store: Store<HostState>,
        process_batch: Func,
        world: WorldVersion,
        batch_timeout_ms: u64,
        meter: InstanceMeter,
    ) -> Self {
        Self {
            kind: InstanceKind::Wasm(WasmInstance {
                store: Mutex::new(store),
                process_batch,
                world,
                batch_timeout_ms,
            }),
            meter,
        }
    }

    /// An instance of a plugin compiled into the process.
    pub(super) fn native(instance: Box<dyn super::native::NativeInstance>, meter: InstanceMeter) -> Self {
        Self {
            kind: InstanceKind::Native(instance),
            meter,
        }
    }

    /// Calls `process-batch`: a wasm instance with the plugin's time limit and
    /// memory caps, a native one directly.
    /// A plugin error after a capability call found its backend unavailable
    /// is the host's [`CallError::Backend`].
    pub fn process(&mut self, batch: &Batch) -> Result<BatchOutcome, CallError> {
        outage::clear();
        self.meter.calls.begin_batch(batch.payload_bytes());
        let started = Instant::now();
        let result = match &mut self.kind {
            InstanceKind::Wasm(instance) => instance.process(batch),
            InstanceKind::Native(instance) => instance.process(batch),
        };
        let elapsed = started.elapsed();
        self.meter.calls.end_batch(elapsed);
        self.meter.duration.observe(elapsed.as_secs_f64());
        self.meter.events.observe(batch.len() as f64);
        let outage = outage::take();
        match (result, outage) {
            (Err(CallError::Plugin(error)), Some(reason)) => Err(CallError::Backend { reason, error }),
            (result, _) => result,
        }
    }
}

impl PluginInstance {
    /// Lends the instance its batch's partition's state for the next call
    /// ([`PluginInstance::take_state`] takes it back).
    pub fn lend_state(&mut self, state: Option<crate::capabilities::state::StateCall>) {
        match &mut self.kind {
            InstanceKind::Wasm(instance) => {
                let store = instance
                    .store
                    .get_mut()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                store.data_mut().state = state;
            }
            InstanceKind::Native(instance) => instance.lend_state(state),
        }
    }

    /// The state lent for the last call, with the call's changes.
    pub fn take_state(&mut self) -> Option<crate::capabilities::state::StateCall> {
        match &mut self.kind {
            InstanceKind::Wasm(instance) => instance
                .store
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .data_mut()
                .state
                .take(),
            InstanceKind::Native(instance) => instance.take_state(),
        }
    }
}

impl WasmInstance {
    fn process(&mut self, batch: &Batch) -> Result<BatchOutcome, CallError> {
        let old_batch = match self.world {
            WorldVersion::V0_3 | WorldVersion::V0_2 => None,
            // Order events did not exist in 0.1.0: such a batch is done for it.
            WorldVersion::V0_1 if batch.events.is_empty() => return Ok(BatchOutcome { rejected: Vec::new() }),
            WorldVersion::V0_1 => Some(batch_v0_1(batch)),
        };
        let store = self.store.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        batch.begin_writes(&store.data().kv, &store.data().identity);
        store.set_epoch_deadline(deadline_ticks(self.batch_timeout_ms));
        let started = Instant::now();
        reset_text_budget();
        let batch_len = batch.events.len() + batch.orders.len();
        let result = match &old_batch {
            None => self
                .process_batch
                .typed::<(&Batch,), (CheckedResult,)>(&*store)
                .and_then(|function| function.call(&mut *store, (batch,))),
            Some(old_batch) => self
                .process_batch
                .typed::<(&_,), (CheckedResult,)>(&*store)
                .and_then(|function| function.call(&mut *store, (old_batch,))),
        }
        .map(|(checked,)| into_outcome(checked, batch_len));
        match result {
            Ok(Ok(Ok(outcome))) => Ok(outcome),
            Ok(Ok(Err(error))) => Err(CallError::Plugin(error)),
            Ok(Err(reason)) => Err(CallError::InvalidOutput(reason)),
            Err(error) => Err(classify(store, error, self.batch_timeout_ms, started.elapsed())),
        }
    }
}

/// Turns a failed call into the failure kind, quoting the plugin's stderr
/// (where a Rust panic message lands) for traps.
fn classify(
    store: &mut Store<HostState>,
    error: wasmtime::Error,
    batch_timeout_ms: u64,
    elapsed: Duration,
) -> CallError {
    if let Some(refused) = error.downcast_ref::<OutputRefused>() {
        return CallError::InvalidOutput(refused.0.clone());
    }
    if let Some(limit) = store.data_mut().limiter.take_exceeded() {
        return CallError::Memory(limit);
    }
    if let Some(wasmtime::Trap::Interrupt) = error.downcast_ref::<wasmtime::Trap>() {
        return CallError::Timeout {
            limit_ms: batch_timeout_ms,
            elapsed_ms: elapsed.as_millis() as u64,
        };
    }
    let stderr = store.data().stderr_text();
    if stderr.is_empty() {
        CallError::Trap(format!("{error:#}"))
    } else {
        let tail: String = stderr
            .chars()
            .rev()
            .take(1024)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        CallError::Trap(format!("{error:#}; plugin stderr: {tail}"))
    }
}
