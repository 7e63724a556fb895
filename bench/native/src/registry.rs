//! The plugin crates linked in, by name, with their `Guest` functions.

use fleethost_core::runtime::native::{NativeInstance, NativePlugins};
use fleethost_core::runtime::{Capabilities, PluginIdentity};
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
const REGISTRY: &[NativeEntry] = &[
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

/// The registry of the five example plugins, for the core's runtime.
pub struct FivePlugins;

impl NativePlugins for FivePlugins {
    fn names(&self) -> Vec<&'static str> {
        REGISTRY.iter().map(|entry| entry.name).collect()
    }

    fn instantiate(
        &self,
        name: &str,
        config: Vec<(String, String)>,
        identity: PluginIdentity,
        capabilities: Capabilities,
    ) -> Result<Box<dyn NativeInstance>, String> {
        let entry = lookup(name).ok_or_else(|| format!("no native plugin named {name:?}"))?;
        let instance = crate::instance::NativeInstance::new(entry, config, identity, capabilities)?;
        Ok(Box::new(instance))
    }
}

#[cfg(test)]
mod tests {
    use fleethost_core::runtime::native::refusal;

    use super::*;

    #[test]
    fn the_five_plugins_are_known_and_others_refused() {
        for name in ["live-location", "db-writer", "eta", "fare", "geofence"] {
            assert_eq!(refusal(Some(&FivePlugins), name), None, "{name}");
            assert!(lookup(name).is_some(), "{name}");
        }
        let refusal = refusal(Some(&FivePlugins), "live-locaton").expect("unknown");
        assert!(
            refusal.contains("live-locaton") && refusal.contains("known"),
            "{refusal}"
        );
    }
}
