//! The wasmtime component runtime: one engine for the process, plugins compiled
//! and pre-linked once, an instance (with its own `Store`) per partition worker.

mod batch;
mod bindings;
mod engine;
mod host_state;
mod imports;
mod instance;
mod limits;
pub mod native;
#[cfg(feature = "native-plugins")]
mod native_convert;
#[cfg(feature = "native-plugins")]
mod native_instance;
mod outcome;
mod plugin;
mod slot;
mod watch;
mod world;

pub use bindings::v0_2::fleethost::plugin::types::{
    Batch, BatchOutcome, Event, OrderEvent, OrderKind, PluginError, Point, Rejection,
};
pub use engine::PluginRuntime;
pub use host_state::{Capabilities, HostState, PluginIdentity};
pub use instance::{CallError, PluginInstance};
pub use plugin::{LoadError, LoadedPlugin};
pub use slot::{PROBATION_BATCHES, PluginSlot, ROLLBACK_AFTER_FAILURES, ReloadOutcome};
pub use watch::{ConfigRewrite, watch_plugin_files};
pub use world::WorldVersion;

pub(crate) use bindings::v0_1::fleethost::plugin as v0_1;
pub(crate) use bindings::v0_2::fleethost::plugin::{kv, log, produce, sql, types as types_host};
