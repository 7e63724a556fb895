//! Native plugins: the benchmark's "what does the sandbox cost" contender.
//!
//! A plugin whose config `path` is `native:<name>` (`path =
//! "native:live-location"`) runs the same plugin crate compiled into the host
//! instead of a `.wasm` component. Only a host built with the cargo feature
//! `native-plugins` links the plugins in; any other host refuses such a
//! config with an error naming the key. Everything else (pipelines,
//! batching, offsets, retries, dead letters, grants, capability timeouts,
//! config reload, metrics) is shared with wasm plugins; what is missing is
//! the sandbox: no memory cap, no batch time limit, no isolation. It exists
//! for measurements, never for production.
//!
//! This file is the naming contract (always compiled, so that the config
//! check can explain a refusal) and, with the feature, the registry of the
//! plugins linked in.

use std::path::Path;

/// How a config `path` names a native plugin.
pub const NATIVE_PREFIX: &str = "native:";

/// The name of the native plugin `path` asks for, if it is a `native:` path.
pub fn native_name(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(NATIVE_PREFIX)
}

/// Why `name` cannot run natively in this build, if it cannot: the build
/// lacks the `native-plugins` feature, or no linked plugin has that name.
pub fn refusal(name: &str) -> Option<String> {
    if !cfg!(feature = "native-plugins") {
        return Some(format!(
            "{NATIVE_PREFIX}{name} names a plugin compiled into the host, but this fleethost was built \
             without the `native-plugins` cargo feature (a benchmark-only build: \
             cargo build --release -p fleethost --features native-plugins); use the path of a .wasm component"
        ));
    }
    if known_names().contains(&name) {
        None
    } else {
        Some(format!(
            "{NATIVE_PREFIX}{name}: no native plugin of that name is linked into this fleethost (known: {:?})",
            known_names()
        ))
    }
}

/// The native plugins this build links in (none without the feature).
pub fn known_names() -> Vec<&'static str> {
    #[cfg(feature = "native-plugins")]
    {
        registry::REGISTRY.iter().map(|entry| entry.name).collect()
    }
    #[cfg(not(feature = "native-plugins"))]
    {
        Vec::new()
    }
}

#[cfg(feature = "native-plugins")]
pub use registry::{NativeEntry, lookup};

/// The plugin crates linked in, by name, with their `Guest` functions.
#[cfg(feature = "native-plugins")]
mod registry {
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

    /// Every plugin of the repository that runs on location streams; names
    /// as in `examples/fleethost.toml`.
    pub(super) const REGISTRY: &[NativeEntry] = &[
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_native_prefixed_paths_name_a_native_plugin() {
        assert_eq!(native_name(Path::new("native:eta")), Some("eta"));
        assert_eq!(native_name(Path::new("plugins/eta.wasm")), None);
        assert_eq!(native_name(Path::new("/x/native:eta")), None);
    }

    #[cfg(not(feature = "native-plugins"))]
    #[test]
    fn without_the_feature_every_native_plugin_is_refused_with_the_feature_named() {
        let refusal = refusal("live-location").expect("refused");
        assert!(refusal.contains("native-plugins"), "{refusal}");
        assert!(known_names().is_empty());
    }

    #[cfg(feature = "native-plugins")]
    #[test]
    fn with_the_feature_the_five_plugins_are_known_and_others_refused() {
        for name in ["live-location", "db-writer", "eta", "fare", "geofence"] {
            assert_eq!(refusal(name), None, "{name}");
            assert!(lookup(name).is_some(), "{name}");
        }
        let refusal = refusal("live-locaton").expect("unknown");
        assert!(
            refusal.contains("live-locaton") && refusal.contains("known"),
            "{refusal}"
        );
    }
}
