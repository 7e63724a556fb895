//! One instance of a native plugin (the benchmark's native contender):
//! the plugin's `Guest` functions called directly, its capability calls
//! served by the same capability objects a wasm instance's store holds.
//!
//! The SDK sends a native plugin's kv, sql, produce, state and log calls to the one
//! [`NativeHost`] registered for the process (`CapabilityBridge`). The
//! bridge finds the calling instance's capabilities in a thread-local that
//! [`NativeInstance`] sets around each call, converts the arguments to the
//! host's types and calls `KvCapability`, `SqlCapability`,
//! `ProduceCapability` and the log capability, exactly as the wasm imports
//! do: same grant checks, denial counts, timeouts and backends.
//!
//! Plugins keep what `init` read in thread-locals (their `Slot`), as one
//! wasm instance runs on one thread. A native call runs on whichever blocking
//! thread the worker got, and one thread serves instances of several
//! pipelines and partitions, so before each call the instance runs `init`
//! again when this thread's copy of the plugin was last initialised by
//! another instance (or never). That costs one config parse, only when the
//! thread changes hands, and keeps the plugin's settings per instance; what
//! a plugin caches between batches (db-writer's "table exists") is then per
//! thread and instance, which for a cache is fine.
//!
//! Not a sandbox: no memory cap, no batch time limit (`limits.memory_mib` and
//! `limits.batch_timeout_ms` are not enforced), and the plugin's code can
//! touch the whole process. A panic is caught and reported as a trap.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};

use fleethost_plugin_sdk as sdk;
use fleethost_plugin_sdk::native::NativeHost;

use fleethost_core::bindings::{kv, produce, sql, state};
use fleethost_core::capabilities::state::StateCall;
use fleethost_core::runtime::native::NativeInstance as HostNativeInstance;
use fleethost_core::runtime::outcome::{MAX_MESSAGE_BYTES, MAX_REJECTIONS, MAX_TEXT_BYTES_PER_CALL};
use fleethost_core::runtime::{Batch, BatchOutcome, CallError, Capabilities, PluginError, PluginIdentity};

use crate::Convert;
use crate::linked::NativeEntry;

/// What the capability calls of one instance need: who is calling (for the
/// log) and its capabilities, limited by the plugin's grants.
struct CallContext {
    identity: PluginIdentity,
    capabilities: Capabilities,
    /// The partition's state lent for the call, for plugins that keep some.
    state: Mutex<Option<StateCall>>,
}

thread_local! {
    /// The instance whose call runs on this thread, if any.
    static CURRENT: RefCell<Option<Arc<CallContext>>> = const { RefCell::new(None) };
    /// Per plugin, the instance whose config this thread's copy of the
    /// plugin was last initialised with.
    static INITIALISED: RefCell<HashMap<&'static str, u64>> = RefCell::new(HashMap::new());
}

/// Tells instances apart in [`INITIALISED`].
static NEXT_INSTANCE_ID: AtomicU64 = AtomicU64::new(1);

/// A native plugin instance owned by one partition worker; calls are blocking
/// and run on a blocking thread, like a wasm instance's.
pub struct NativeInstance {
    entry: &'static NativeEntry,
    id: u64,
    config: Vec<(String, String)>,
    context: Arc<CallContext>,
}

impl NativeInstance {
    /// A fresh instance, initialised with `config` on this thread; the error
    /// is `init`'s (or its panic's) message.
    pub fn new(
        entry: &'static NativeEntry,
        config: Vec<(String, String)>,
        identity: PluginIdentity,
        capabilities: Capabilities,
    ) -> Result<Self, String> {
        static REGISTER: Once = Once::new();
        REGISTER.call_once(|| {
            sdk::native::register(&CapabilityBridge);
        });
        let instance = Self {
            entry,
            id: NEXT_INSTANCE_ID.fetch_add(1, Ordering::Relaxed),
            config,
            context: Arc::new(CallContext {
                identity,
                capabilities,
                state: Mutex::new(None),
            }),
        };
        match instance.call(|| instance.initialise_here()) {
            Ok(result) => result.map(|()| instance),
            Err(panic) => Err(format!("init panicked: {panic}")),
        }
    }

    /// Runs `init` with this instance's config unless this thread's copy of
    /// the plugin already holds it.
    fn initialise_here(&self) -> Result<(), String> {
        let name = self.entry.name;
        if INITIALISED.with(|seen| seen.borrow().get(name) == Some(&self.id)) {
            return Ok(());
        }
        INITIALISED.with(|seen| seen.borrow_mut().remove(name));
        (self.entry.init)(self.config.clone())?;
        INITIALISED.with(|seen| seen.borrow_mut().insert(name, self.id));
        Ok(())
    }

    /// Runs `guest` as this instance: its capabilities are the current ones
    /// on this thread meanwhile, and a panic comes back as its message.
    fn call<R>(&self, guest: impl FnOnce() -> R) -> Result<R, String> {
        let previous = CURRENT.with(|current| current.replace(Some(self.context.clone())));
        let result = catch_unwind(AssertUnwindSafe(guest)).map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_string())
        });
        CURRENT.with(|current| current.replace(previous));
        result
    }
}

impl HostNativeInstance for NativeInstance {
    /// Calls the plugin's `process_batch` (after `init` if this thread needs
    /// it). The answer is checked as a wasm plugin's is.
    fn process(&mut self, batch: &Batch) -> Result<BatchOutcome, CallError> {
        let batch_len = batch.events.len() + batch.orders.len();
        batch.begin_writes(&self.context.capabilities.kv, &self.context.identity);
        let guest_batch: sdk::Batch = batch.convert();
        let result = self.call(|| {
            self.initialise_here()?;
            Ok::<_, String>((self.entry.process_batch)(guest_batch))
        });
        match result {
            Ok(Ok(Ok(outcome))) => checked_outcome(outcome, batch_len),
            Ok(Ok(Err(error))) => Err(CallError::Plugin(checked_error(error))),
            Ok(Err(init_error)) => Err(CallError::Trap(format!("init on a new thread failed: {init_error}"))),
            Err(panic) => {
                // The plugin's thread-locals may be half-updated: the next
                // call on this thread initialises them again.
                INITIALISED.with(|seen| seen.borrow_mut().remove(self.entry.name));
                Err(CallError::Trap(format!("native plugin panicked: {panic}")))
            }
        }
    }

    fn lend_state(&mut self, state: Option<StateCall>) {
        *self.context.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }

    fn take_state(&mut self) -> Option<StateCall> {
        self.context.state.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The plugin's answer, bounded like a wasm plugin's (`runtime/outcome.rs`):
/// not more rejections than records, texts cut to their limits.
fn checked_outcome(outcome: sdk::BatchOutcome, batch_len: usize) -> Result<BatchOutcome, CallError> {
    if outcome.rejected.len() > batch_len.min(MAX_REJECTIONS) {
        return Err(CallError::InvalidOutput(format!(
            "returned {} rejections for a batch of {batch_len} events",
            outcome.rejected.len()
        )));
    }
    let mut outcome: BatchOutcome = outcome.convert();
    let mut budget = MAX_TEXT_BYTES_PER_CALL;
    for rejection in &mut outcome.rejected {
        bound_text(&mut rejection.reason, &mut budget);
    }
    Ok(outcome)
}

fn checked_error(error: sdk::PluginError) -> PluginError {
    let mut error: PluginError = error.convert();
    let mut budget = MAX_TEXT_BYTES_PER_CALL;
    bound_text(&mut error.message, &mut budget);
    error
}

/// Cuts `text` to [`MAX_MESSAGE_BYTES`] and to what is left of `budget`.
fn bound_text(text: &mut String, budget: &mut usize) {
    let mut keep = text.len().min(MAX_MESSAGE_BYTES).min(*budget);
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    text.truncate(keep);
    *budget -= keep;
}

/// Runs `call` with the current instance's context; `outside` answers a
/// capability call made while no native call runs on this thread (a plugin
/// calling from a thread of its own), which no grant covers.
fn with_current<T>(outside: impl FnOnce(String) -> T, call: impl FnOnce(&CallContext) -> T) -> T {
    match CURRENT.with(|current| current.borrow().clone()) {
        Some(context) => call(&context),
        None => outside("capability called outside a native plugin call on this thread".to_string()),
    }
}

/// The answer to a state call when no partition's state is lent (in `init`).
fn no_state() -> state::StateError {
    state::StateError::Invalid("no partition's state here: state is kept per partition, for process-batch".into())
}

/// The process's [`NativeHost`]: every native plugin's capability calls.
struct CapabilityBridge;

impl NativeHost for CapabilityBridge {
    fn kv_write(&self, ops: &[sdk::kv::WriteOp]) -> Result<Vec<sdk::kv::WriteResult>, sdk::kv::KvError> {
        with_current(
            |message| Err(kv::KvError::Denied(message)),
            |context| {
                context
                    .capabilities
                    .kv
                    .write(ops.iter().map(Convert::convert).collect())
            },
        )
        .map(|results| results.into_iter().map(Convert::convert).collect())
        .map_err(Convert::convert)
    }

    fn kv_get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, sdk::kv::KvError> {
        with_current(
            |message| Err(kv::KvError::Denied(message)),
            |context| context.capabilities.kv.get_many(keys.to_vec()),
        )
        .map_err(Convert::convert)
    }

    fn kv_hash_get_all_many(&self, keys: &[String]) -> Result<Vec<Vec<sdk::kv::FieldValue>>, sdk::kv::KvError> {
        with_current(
            |message| Err(kv::KvError::Denied(message)),
            |context| context.capabilities.kv.hash_get_all_many(keys.to_vec()),
        )
        .map(|hashes| {
            hashes
                .into_iter()
                .map(|fields| fields.into_iter().map(Convert::convert).collect())
                .collect()
        })
        .map_err(Convert::convert)
    }

    fn sql_ensure_table(&self, table: &sdk::sql::TableDef) -> Result<(), sdk::sql::SqlError> {
        with_current(
            |message| Err(sql::SqlError::Denied(message)),
            |context| context.capabilities.sql.ensure_table(table.convert()),
        )
        .map_err(Convert::convert)
    }

    fn sql_insert(&self, ops: &[sdk::sql::InsertOp]) -> Result<Vec<u64>, sdk::sql::SqlError> {
        with_current(
            |message| Err(sql::SqlError::Denied(message)),
            |context| {
                context
                    .capabilities
                    .sql
                    .insert(ops.iter().map(Convert::convert).collect())
            },
        )
        .map_err(Convert::convert)
    }

    fn sql_select(&self, query: &sdk::sql::SelectOp) -> Result<Vec<Vec<sdk::sql::Value>>, sdk::sql::SqlError> {
        with_current(
            |message| Err(sql::SqlError::Denied(message)),
            |context| context.capabilities.sql.select(query.convert()),
        )
        .map(|rows| {
            rows.into_iter()
                .map(|row| row.into_iter().map(Convert::convert).collect())
                .collect()
        })
        .map_err(Convert::convert)
    }

    fn produce_send(&self, messages: &[sdk::produce::Message]) -> Result<(), sdk::produce::ProduceError> {
        with_current(
            |message| Err(produce::ProduceError::Denied(message)),
            |context| {
                context
                    .capabilities
                    .produce
                    .send(messages.iter().map(Convert::convert).collect())
            },
        )
        .map_err(Convert::convert)
    }

    fn state_get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, sdk::state::StateError> {
        with_current(
            |message| Err(state::StateError::Invalid(message)),
            |context| match context.state.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                Some(call) => call.get_many(keys.to_vec()),
                None => Err(no_state()),
            },
        )
        .map_err(Convert::convert)
    }

    fn state_put_many(&self, changes: &[(String, Option<String>)]) -> Result<(), sdk::state::StateError> {
        with_current(
            |message| Err(state::StateError::Invalid(message)),
            |context| match context.state.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
                Some(call) => call.put_many(changes.to_vec()),
                None => Err(no_state()),
            },
        )
        .map_err(Convert::convert)
    }

    fn log(&self, level: sdk::log::Level, message: &str) {
        with_current(
            |_| (),
            |context| {
                fleethost_core::capabilities::log::write_line(&context.identity, level.convert(), message.to_string())
            },
        );
    }
}
