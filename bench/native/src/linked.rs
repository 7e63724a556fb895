//! The plugin crates linked in, by name, with their `Guest` functions.

use fleethost_plugin_sdk::{Batch, BatchOutcome, Guest, PluginError};

/// A plugin's `Guest::init`: its config map in, `init`'s refusal out.
pub type InitFn = fn(Vec<(String, String)>) -> Result<(), String>;

/// One plugin compiled into the host: its `Guest::init` and
/// `Guest::process_batch`, called directly instead of through wasm.
pub struct NativeEntry {
    /// The name a config's `path = "native:<name>"` uses.
    pub name: &'static str,
    /// The plugin's `init`: reads its config into its thread-locals.
    pub init: InitFn,
    /// The plugin's `process-batch`.
    pub process_batch: fn(Batch) -> Result<BatchOutcome, PluginError>,
}

const fn entry<G: Guest>(name: &'static str) -> NativeEntry {
    NativeEntry {
        name,
        init: G::init,
        process_batch: G::process_batch,
    }
}

/// Every plugin of the repository that runs on location streams; names as in
/// `examples/fleethost.toml`.
pub(crate) const REGISTRY: &[NativeEntry] = &[
    entry::<live_location::LiveLocation>("live-location"),
    entry::<db_writer::DbWriter>("db-writer"),
    entry::<eta::Eta>("eta"),
    entry::<fare::Fare>("fare"),
    entry::<geofence::Geofence>("geofence"),
];

/// The linked plugin called `name`.
pub fn lookup(name: &str) -> Option<&'static NativeEntry> {
    REGISTRY.iter().find(|entry| entry.name == name)
}
