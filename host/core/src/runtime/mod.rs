//! The wasmtime component runtime: one engine for the process, plugins compiled
//! and pre-linked once, an instance (with its own `Store`) per partition worker.

mod batch;
mod call_error;
mod compat_v0_1;
mod determinism;
mod engine;
mod host_state;
mod imports;
mod inputs;
mod instance;
mod limits;
mod link_v0_3;
mod linked_capabilities;
pub mod native;
pub mod outcome;
mod plugin;
pub mod recorder;
mod slot;
pub mod tape;
mod tape_replay;
mod watch;
mod world;

pub use crate::bindings::types::{Batch, BatchOutcome, Event, OrderEvent, OrderKind, PluginError, Point, Rejection};
pub use crate::capabilities::identity::PluginIdentity;
pub use call_error::CallError;
pub use determinism::Determinism;
pub use engine::PluginRuntime;
pub use host_state::{Capabilities, HostState, InstanceOptions};
pub use inputs::{Inputs, SeedError, Seeds};
pub use instance::PluginInstance;
pub use plugin::{LoadError, LoadedPlugin};
pub use slot::{PROBATION_BATCHES, PluginSlot, ROLLBACK_AFTER_FAILURES, ReloadOutcome};
pub use tape_replay::{Divergence, TapeReplay};
pub use watch::{ConfigRewrite, ConfigTarget, FileWatch};
pub use world::WorldVersion;
