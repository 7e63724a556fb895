//! The wasmtime component runtime: one engine for the process, plugins compiled
//! and pre-linked once, an instance (with its own `Store`) per partition worker.

mod bindings;
mod engine;
mod host_state;
mod imports;
mod instance;
mod limits;
mod outcome;
mod plugin;
mod slot;
mod watch;

pub use bindings::fleethost::plugin::types::{Batch, BatchOutcome, Event, PluginError, Rejection};
pub use engine::PluginRuntime;
pub use host_state::{HostState, PluginIdentity};
pub use instance::{CallError, PluginInstance};
pub use plugin::{LoadError, LoadedPlugin};
pub use slot::{PROBATION_BATCHES, PluginSlot, ROLLBACK_AFTER_FAILURES, ReloadOutcome};
pub use watch::watch_plugin_files;

pub(crate) use bindings::fleethost::plugin::{kv, log, types as types_host};
