//! Native plugins: plugin code compiled into the process instead of loaded
//! as a component, for the benchmark's "what does the sandbox cost"
//! contender.
//!
//! A plugin whose config `path` is `native:<name>` (`path =
//! "native:live-location"`) runs code that a [`NativePlugins`] registry,
//! handed to the runtime with [`PluginRuntime::with_native_plugins`],
//! provides. The production `fleethost` binary hands none, so it refuses
//! such a config with an error naming the key; the benchmark's
//! `fleethost-native` binary hands the registry of the five example
//! plugins. Everything else (pipelines, batching, offsets, retries, dead
//! letters, grants, capability timeouts, config reload, metrics) is shared
//! with wasm plugins; what is missing is the sandbox: no memory cap, no batch
//! time limit, no isolation. It exists for measurements, never for
//! production.
//!
//! [`PluginRuntime::with_native_plugins`]: super::PluginRuntime::with_native_plugins

use super::CallError;
use super::host_state::Capabilities;
use super::{Batch, BatchOutcome};
use crate::capabilities::identity::PluginIdentity;
use crate::capabilities::state::StateCall;
use crate::config::NATIVE_PREFIX;

/// Plugins compiled into the process, by name: what a runtime that runs
/// `native:<name>` paths is given.
pub trait NativePlugins: Send + Sync {
    /// The names a config's `path = "native:<name>"` may use.
    fn names(&self) -> Vec<&'static str>;

    /// Whether the plugin `name` keeps state (calls `state`), so that the
    /// host lends its instances their partition's state; by default none
    /// does.
    fn keeps_state(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// A fresh instance of the plugin `name`, initialised with `config`, its
    /// capability calls served by `capabilities` (the same objects, grants
    /// and timeouts a wasm instance's store holds); the error is the
    /// plugin's `init` refusal.
    fn instantiate(
        &self,
        name: &str,
        config: Vec<(String, String)>,
        identity: PluginIdentity,
        capabilities: Capabilities,
    ) -> Result<Box<dyn NativeInstance>, String>;
}

/// One instance of a native plugin, owned by one partition worker like a
/// wasm instance; calls are blocking.
pub trait NativeInstance: Send + Sync {
    /// The plugin's `process-batch`, its answer checked as a wasm plugin's
    /// is (bounded rejections and texts).
    fn process(&mut self, batch: &Batch) -> Result<BatchOutcome, CallError>;

    /// Lends the instance its batch's partition's state for the next call,
    /// as a wasm instance's store is lent it; an implementation that keeps
    /// none drops it (its plugins' state calls then answer `invalid`).
    fn lend_state(&mut self, state: Option<StateCall>) {
        drop(state);
    }

    /// The state lent for the last call, with the call's changes.
    fn take_state(&mut self) -> Option<StateCall> {
        None
    }
}

/// Why `name` cannot run natively with `registry`, if it cannot: there is no
/// registry (every production build), or it has no plugin of that name.
pub fn refusal(registry: Option<&dyn NativePlugins>, name: &str) -> Option<String> {
    let Some(registry) = registry else {
        return Some(format!(
            "{NATIVE_PREFIX}{name} names a plugin compiled into the host, which only the benchmark's \
             fleethost-native binary has; use the path of a .wasm component"
        ));
    };
    let names = registry.names();
    if names.contains(&name) {
        None
    } else {
        Some(format!(
            "{NATIVE_PREFIX}{name}: no native plugin of that name is linked into this binary (known: {names:?})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct OnlyEta;

    impl NativePlugins for OnlyEta {
        fn names(&self) -> Vec<&'static str> {
            vec!["eta"]
        }

        fn instantiate(
            &self,
            _: &str,
            _: Vec<(String, String)>,
            _: PluginIdentity,
            _: Capabilities,
        ) -> Result<Box<dyn NativeInstance>, String> {
            Err("not used".into())
        }
    }

    #[test]
    fn without_a_registry_every_native_plugin_is_refused_naming_the_binary_that_has_them() {
        let refusal = refusal(None, "live-location").expect("refused");
        assert!(refusal.contains("native:live-location"), "{refusal}");
        assert!(refusal.contains("fleethost-native"), "{refusal}");
    }

    #[test]
    fn a_registry_accepts_its_names_and_refuses_others_listing_what_it_knows() {
        assert_eq!(refusal(Some(&OnlyEta), "eta"), None);
        let refusal = refusal(Some(&OnlyEta), "etaa").expect("unknown");
        assert!(refusal.contains("etaa") && refusal.contains("[\"eta\"]"), "{refusal}");
    }
}
